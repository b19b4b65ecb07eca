// IDXDataset: a Dataset from a pair of IDX files, one of samples and one of labels.
//
// The first dimension of each file counts rows; the remaining dimensions of
// the samples file are flattened row-major into features (28×28 images become
// 784 features). Integer labels of rank 1 become classes; float labels, or
// labels with more than one dimension, become value targets.

/// Loads datasets stored as IDX files (the MNIST family's format).
public enum IDXDataset {
    /// Reads `imagesPath` and `labelsPath` (each plain or gzip) into a dataset.
    /// - Parameters:
    ///   - featureDivisor: every feature is divided by it; nil means 255 for uint8 data
    ///     (pixels in [0, 1]) and 1 for every other type.
    ///   - classCount: the number of classes, if known; labels must lie below it.
    ///     Nil means one more than the largest label.
    ///   - name: the dataset's name; the images file name if nil.
    ///   - missing: the error for a path that does not exist.
    public static func load(
        imagesPath: String,
        labelsPath: String,
        featureDivisor: Float? = nil,
        classCount: Int? = nil,
        name: String? = nil,
        missing: (String) -> DatasetError = { .missingFile(path: $0) }
    ) throws(DatasetError) -> Dataset {
        precondition((classCount ?? 1) > 0, "IDXDataset.load: classCount must be positive, got \(classCount ?? 0)")
        let images = try IDXFile(path: imagesPath, missing: missing)
        let labels = try IDXFile(path: labelsPath, missing: missing)

        let rowCount = images.dimensions[0]
        let featureCount = images.dimensions.dropFirst().reduce(1, *)  // IDXFile checked the product fits.
        guard rowCount > 0 else { throw .noDataRows(path: imagesPath) }
        guard featureCount > 0 else { throw .noFeatures(path: imagesPath) }
        guard labels.dimensions[0] == rowCount else {
            throw .countMismatch(
                imagesPath: imagesPath, imageCount: rowCount, labelsPath: labelsPath, labelCount: labels.dimensions[0])
        }

        let divisor = featureDivisor ?? (images.dataType == .unsignedByte ? 255 : 1)
        let features = images.floats(dividingBy: divisor)
        let targets = try makeTargets(labels, rowCount: rowCount, classCount: classCount)
        return Dataset(name: name ?? baseName(imagesPath), featureCount: featureCount, features: features, targets: targets)
    }

    /// Classes for integer labels of rank 1, values otherwise; checks every class label.
    private static func makeTargets(_ labels: IDXFile, rowCount: Int, classCount: Int?) throws(DatasetError) -> Targets {
        guard labels.dimensions.count == 1, let values = labels.integers() else {
            let width = labels.elementCount / rowCount
            guard width > 0 else { throw .noDataRows(path: labels.path) }
            return .values(labels.floats(), width: width)
        }
        var largest: Int32 = -1
        for (row, label) in values.enumerated() {
            if label < 0 || (classCount.map { Int(label) >= $0 } ?? false) {
                throw .labelOutOfRange(path: labels.path, row: row, label: Int(label), classCount: classCount)
            }
            largest = max(largest, label)
        }
        return .classes(labels: values, classCount: classCount ?? Int(largest) + 1)
    }
}

/// The last path component of `path`.
func baseName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
