// NPYError: everything a NumPy .npy file (or a pair of them) can do wrong, as
// a typed error with a one-line message that names the file and the fix
// (DESIGN.md 8). Failures to read the file at all are DatasetErrors, wrapped.

/// A problem with a .npy file, with a one-line message that names the file and the fix.
public enum NPYError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read (missing, unreadable, empty, bad gzip).
    case file(DatasetError)
    /// The file does not start with the magic string \x93NUMPY.
    case notNPY(path: String)
    /// The format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
    /// The file ends inside the magic string, the header length or the header.
    case truncatedHeader(path: String, neededBytes: Int, actualBytes: Int)
    /// The header is not the Python dict literal numpy writes; `detail` says where it goes wrong.
    case malformedHeader(path: String, detail: String)
    /// The dtype is not one this reader converts (little-endian float32/64, uint8, int8/16/32/64).
    case unsupportedDataType(path: String, descr: String)
    /// The array is stored in Fortran (column-major) order.
    case fortranOrder(path: String)
    /// The shape and dtype describe a different number of data bytes than the file holds.
    case sizeMismatch(path: String, shape: [Int], expectedBytes: Int, actualBytes: Int)

    /// A features array is a scalar (shape ()).
    case featuresShape(path: String, shape: [Int])
    /// A labels array is not 1-D (rows) or 2-D (rows, outputs).
    case labelsShape(path: String, shape: [Int])
    /// The array has no rows.
    case noDataRows(path: String, shape: [Int])
    /// The rows have no values (a dimension after the first is 0).
    case noFeatures(path: String, shape: [Int])
    /// The features and labels files disagree on the number of rows.
    case rowCountMismatch(featuresPath: String, featureRows: Int, labelsPath: String, labelRows: Int)
    /// A value is NaN or infinite (or, from float64, beyond float32's range).
    case nonFiniteValue(path: String, row: Int, column: Int, value: String)
    /// An integer class label is negative or above Int32.max.
    case labelOutOfRange(path: String, row: Int, label: Int64)

    /// The message, one line: the file, what is wrong, what to do.
    public var description: String {
        switch self {
        case .file(let error):
            return error.description
        case .notNPY(let path):
            return "\(path): not a NumPy .npy file (it does not start with \\x93NUMPY); save the array with numpy.save"
        case .unsupportedVersion(let path, let major, let minor):
            return "\(path): .npy format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are); "
                + "save the array with numpy.save"
        case .truncatedHeader(let path, let needed, let actual):
            return "\(path): file ends inside the .npy header (needs \(needed) bytes, has \(actual)); "
                + "the file is truncated, write it again"
        case .malformedHeader(let path, let detail):
            return "\(path): malformed .npy header: \(detail); save the array with numpy.save"
        case .unsupportedDataType(let path, let descr):
            return "\(path): unsupported dtype \(descr) (supported: <f4, <f8, |u1, |i1, <i2, <i4, <i8); "
                + "convert with array.astype('<f4')"
        case .fortranOrder(let path):
            return "\(path): the array is stored in Fortran (column-major) order; "
                + "save numpy.ascontiguousarray(array) instead"
        case .sizeMismatch(let path, let shape, let expected, let actual):
            return "\(path): header describes shape \(NPYError.python(shape)) = \(expected) data bytes "
                + "but the file holds \(actual); the file is truncated or damaged, write it again"
        case .featuresShape(let path, let shape):
            return "\(path): features need shape (rows,) or (rows, features, ...) but the array has shape "
                + "\(NPYError.python(shape)); save one row per sample"
        case .labelsShape(let path, let shape):
            return "\(path): labels need shape (rows,) or (rows, outputs) but the array has shape "
                + "\(NPYError.python(shape)); save one label row per sample"
        case .noDataRows(let path, let shape):
            return "\(path): the array has shape \(NPYError.python(shape)), no rows; a dataset needs at least one row"
        case .noFeatures(let path, let shape):
            return "\(path): the array has shape \(NPYError.python(shape)), no values per row; "
                + "a dataset needs at least one feature"
        case .rowCountMismatch(let featuresPath, let featureRows, let labelsPath, let labelRows):
            return "\(featuresPath): \(featureRows) rows but \(labelsPath) has \(labelRows); "
                + "pass a features file and the labels file that belongs to it"
        case .nonFiniteValue(let path, let row, let column, let value):
            return "\(path): row \(row), column \(column) is \(value); every value must be a finite float32"
        case .labelOutOfRange(let path, let row, let label):
            return "\(path): label \(label) of row \(row) is outside 0...\(Int32.max); "
                + "class labels are non-negative integers"
        }
    }

    /// A shape as Python prints a tuple: (), (3,), (2, 3).
    static func python(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
}
