// Dataset: an in-memory table of feature rows and their targets.
//
// Features are one row-major FloatBuffer (rowCount, featureCount), so a
// micro-batch is gathered with one contiguous copy per row and no allocation.
// Targets are either class labels (for cross-entropy) or float values of a
// fixed width per row (for regression losses).

import Engine

/// What each row of a dataset should be predicted as.
public enum Targets {
    /// One class index per row, each in 0..<classCount.
    case classes(labels: [Int32], classCount: Int)
    /// `width` floats per row: a (rowCount, width) row-major buffer.
    case values(FloatBuffer, width: Int)

    /// Number of rows the targets describe.
    public var rowCount: Int {
        switch self {
        case .classes(let labels, _): return labels.count
        case .values(let buffer, let width): return width > 0 ? buffer.count / width : 0
        }
    }

    /// The number of classes, or nil for value targets.
    public var classCount: Int? {
        if case .classes(_, let classCount) = self { return classCount }
        return nil
    }
}

/// Rows of features with one target each, held in memory.
public final class Dataset {
    /// A short name for logs, e.g. "fashion-mnist/train".
    public let name: String
    /// Number of rows (samples).
    public let rowCount: Int
    /// Number of features per row.
    public let featureCount: Int
    /// The features, (rowCount, featureCount) row-major.
    public let features: FloatBuffer
    /// The target of every row.
    public let targets: Targets

    /// Wraps `features` (rowCount × featureCount, row-major) and `targets`; the row count comes from `targets`.
    public init(name: String, featureCount: Int, features: FloatBuffer, targets: Targets) {
        precondition(featureCount > 0, "Dataset \(name): featureCount must be positive, got \(featureCount)")
        let rowCount = targets.rowCount
        precondition(features.count == rowCount * featureCount,
                     "Dataset \(name): \(features.count) feature values for \(rowCount) rows of \(featureCount)")
        switch targets {
        case .classes(let labels, let classCount):
            precondition(classCount > 0, "Dataset \(name): classCount must be positive, got \(classCount)")
            precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classCount },
                         "Dataset \(name): a label lies outside 0..<\(classCount)")
        case .values(let buffer, let width):
            precondition(width > 0 && buffer.count % width == 0,
                         "Dataset \(name): \(buffer.count) target values do not form rows of width \(width)")
        }
        self.name = name
        self.rowCount = rowCount
        self.featureCount = featureCount
        self.features = features
        self.targets = targets
    }

    /// Copies the feature rows listed in `rows` one after another into `destination`.
    /// - Parameters:
    ///   - rows: row indices, each in 0..<rowCount.
    ///   - destination: room for rows.count × featureCount floats, (rows.count, featureCount).
    public func gatherFeatures(rows: UnsafeBufferPointer<Int32>, into destination: UnsafeMutablePointer<Float>) {
        let width = featureCount
        for (position, row) in rows.enumerated() {
            precondition(row >= 0 && Int(row) < rowCount, "Dataset \(name): row \(row) outside 0..<\(rowCount)")
            (destination + position * width).update(from: features.pointer + Int(row) * width, count: width)
        }
    }

    /// Copies the class labels of `rows` into `destination` (rows.count labels); the targets must be classes.
    public func gatherLabels(rows: UnsafeBufferPointer<Int32>, into destination: UnsafeMutablePointer<Int32>) {
        guard case .classes(let labels, _) = targets else {
            preconditionFailure("Dataset \(name): gatherLabels on value targets")
        }
        labels.withUnsafeBufferPointer { source in
            for (position, row) in rows.enumerated() {
                precondition(row >= 0 && Int(row) < rowCount, "Dataset \(name): row \(row) outside 0..<\(rowCount)")
                destination[position] = source[Int(row)]
            }
        }
    }

    /// Copies the target values of `rows` into `destination`, (rows.count, width); the targets must be values.
    public func gatherTargetValues(rows: UnsafeBufferPointer<Int32>, into destination: UnsafeMutablePointer<Float>) {
        guard case .values(let buffer, let width) = targets else {
            preconditionFailure("Dataset \(name): gatherTargetValues on class targets")
        }
        for (position, row) in rows.enumerated() {
            precondition(row >= 0 && Int(row) < rowCount, "Dataset \(name): row \(row) outside 0..<\(rowCount)")
            (destination + position * width).update(from: buffer.pointer + Int(row) * width, count: width)
        }
    }

    /// A new dataset holding copies of `rows`, in that order; class targets keep the same class count.
    /// - Parameter name: the new dataset's name; this dataset's name if nil.
    public func subset<Rows: Collection<Int>>(rows: Rows, name: String? = nil) -> Dataset {
        let indices = rows.map { row -> Int32 in
            precondition(row >= 0 && row < rowCount, "Dataset \(self.name): row \(row) outside 0..<\(rowCount)")
            return Int32(row)
        }
        let features = FloatBuffer(count: indices.count * featureCount)
        let targets: Targets
        switch self.targets {
        case .classes(_, let classCount):
            var labels = [Int32](repeating: 0, count: indices.count)
            indices.withUnsafeBufferPointer { rows in
                gatherFeatures(rows: rows, into: features.pointer)
                labels.withUnsafeMutableBufferPointer { output in
                    if let base = output.baseAddress { gatherLabels(rows: rows, into: base) }
                }
            }
            targets = .classes(labels: labels, classCount: classCount)
        case .values(_, let width):
            let values = FloatBuffer(count: indices.count * width)
            indices.withUnsafeBufferPointer { rows in
                gatherFeatures(rows: rows, into: features.pointer)
                gatherTargetValues(rows: rows, into: values.pointer)
            }
            targets = .values(values, width: width)
        }
        return Dataset(name: name ?? self.name, featureCount: featureCount, features: features, targets: targets)
    }
}
