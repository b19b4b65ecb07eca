// NPYDataset: a Dataset from two NumPy .npy files, features and labels.
//
// Features: shape (rows,) → one feature per row, (rows, features) or
// (rows, d1, d2, ...) → d1·d2·... features per row (an image stack flattens in
// C order). Values are taken as they are (uint8 pixels stay 0...255) and must
// be finite. Labels: shape (rows,) or (rows, outputs). Integer labels of one
// output are classes (classCount = largest + 1, like the CSV reader); any
// other labels are value targets of width `outputs`.

import Engine

/// Loads datasets stored as a pair of .npy files.
public enum NPYDataset {
    /// Reads features and labels (plain or gzip .npy files) into a dataset.
    /// - Parameters:
    ///   - labelsAsValues: make value targets even when the labels are integers.
    ///   - name: the dataset's name; the features file's name if nil.
    public static func load(
        featuresPath: String, labelsPath: String, labelsAsValues: Bool = false, name: String? = nil
    ) throws(NPYError) -> Dataset {
        let features = try NPYFile(path: featuresPath)
        let labels = try NPYFile(path: labelsPath)
        return try dataset(features: features, labels: labels, labelsAsValues: labelsAsValues, name: name)
    }

    /// Builds a dataset from two arrays already read.
    public static func dataset(
        features: NPYFile, labels: NPYFile, labelsAsValues: Bool = false, name: String? = nil
    ) throws(NPYError) -> Dataset {
        guard let rows = features.shape.first else { throw .featuresShape(path: features.path, shape: features.shape) }
        guard rows > 0 else { throw .noDataRows(path: features.path, shape: features.shape) }
        guard !features.shape.dropFirst().contains(0) else { throw .noFeatures(path: features.path, shape: features.shape) }
        let featureCount = features.elementCount / rows

        guard labels.shape.count == 1 || labels.shape.count == 2 else {
            throw .labelsShape(path: labels.path, shape: labels.shape)
        }
        let labelRows = labels.shape[0]
        guard labelRows == rows else {
            throw .rowCountMismatch(featuresPath: features.path, featureRows: rows, labelsPath: labels.path, labelRows: labelRows)
        }
        let outputs = labels.shape.count == 2 ? labels.shape[1] : 1
        guard outputs > 0 else { throw .noFeatures(path: labels.path, shape: labels.shape) }

        let featureValues = features.floats()
        try requireFinite(featureValues, columns: featureCount, path: features.path)

        let targets: Targets
        if !labelsAsValues && outputs == 1, let integers = labels.integers() {
            var classes = [Int32](repeating: 0, count: integers.count)
            for (row, label) in integers.enumerated() {
                guard label >= 0 && label <= Int64(Int32.max) else {
                    throw .labelOutOfRange(path: labels.path, row: row, label: label)
                }
                classes[row] = Int32(label)
            }
            targets = .classes(labels: classes, classCount: Int(classes.max() ?? 0) + 1)
        } else {
            let values = labels.floats()
            try requireFinite(values, columns: outputs, path: labels.path)
            targets = .values(values, width: outputs)
        }
        return Dataset(name: name ?? baseName(features.path), featureCount: featureCount, features: featureValues,
                       targets: targets)
    }

    /// Throws for the first NaN or infinity in `values`, (rows, columns).
    private static func requireFinite(_ values: FloatBuffer, columns: Int, path: String) throws(NPYError) {
        let pointer = values.pointer
        for index in 0..<values.count where !pointer[index].isFinite {
            throw .nonFiniteValue(path: path, row: index / columns, column: index % columns, value: "\(pointer[index])")
        }
    }

    /// The last component of `path`.
    private static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
