// DatasetError: everything a data file can do wrong, as a typed error.
//
// Decision 8 of DESIGN.md: every failure a user can cause is a typed error whose
// one-line message names the file (and line, column or value) and says what to
// do. The readers in this module throw nothing else and never crash on a file.

/// A problem with a data file, with a one-line message that names the file and the fix.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// A Fashion-MNIST file is missing: the Debian package is probably not installed.
    case missingFashionMNIST(path: String)
    /// A data file given by path does not exist.
    case missingFile(path: String)
    /// The file exists but could not be opened or read; `reason` is the system's explanation.
    case unreadable(path: String, reason: String)
    /// The file has no bytes, or (for text) only blank lines.
    case emptyFile(path: String)
    /// The file (or the CSV header) is fine but holds no data rows.
    case noDataRows(path: String)
    /// Rows have no feature values: a CSV with only the label column, or an IDX dimension of 0.
    case noFeatures(path: String)

    /// The gzip stream ends before its end marker: the download or copy was cut short.
    case truncatedGzip(path: String)
    /// zlib rejected the compressed data; `detail` is zlib's message.
    case corruptGzip(path: String, detail: String)

    /// The first four bytes are not an IDX magic number (0x0000TTNN).
    case wrongIDXMagic(path: String, found: UInt32)
    /// The file ends inside the IDX header or its list of dimensions.
    case truncatedIDXHeader(path: String, neededBytes: Int, actualBytes: Int)
    /// The dimensions in the IDX header describe a different number of bytes than the file holds.
    case idxSizeMismatch(path: String, dimensions: [Int], expectedBytes: Int, actualBytes: Int)
    /// The images file and the labels file disagree on the number of rows.
    case countMismatch(imagesPath: String, imageCount: Int, labelsPath: String, labelCount: Int)
    /// A class label is negative, or not below the dataset's number of classes (when known).
    case labelOutOfRange(path: String, row: Int, label: Int, classCount: Int?)

    /// The first line of a CSV is all numbers: the required header line is missing.
    case csvMissingHeader(path: String)
    /// A CSV line has a different number of fields than the header.
    case csvWrongFieldCount(path: String, line: Int, expected: Int, found: Int)
    /// A CSV field is empty.
    case csvMissingValue(path: String, line: Int, column: Int, columnName: String)
    /// A CSV field is not a finite decimal number.
    case csvInvalidNumber(path: String, line: Int, column: Int, columnName: String, text: String)
    /// The requested label column (a name, or a 0-based index) is not in the CSV header.
    case csvUnknownLabelColumn(path: String, requested: String, columns: [String])

    /// The message, one line: the file, what is wrong, what to do.
    public var description: String {
        switch self {
        case .missingFashionMNIST(let path):
            return "\(path): no such file; install the Debian package dataset-fashion-mnist or pass --dataset PATH"
        case .missingFile(let path):
            return "\(path): no such file; check the path"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the file (\(reason)); check the path and its permissions"
        case .emptyFile(let path):
            return "\(path): the file is empty; point to the right file or recreate it"
        case .noDataRows(let path):
            return "\(path): the file holds no data rows; a dataset needs at least one row"
        case .noFeatures(let path):
            return "\(path): rows have no feature values besides the label; a dataset needs at least one feature"

        case .truncatedGzip(let path):
            return "\(path): gzip data ends early (the file is truncated); download or reinstall it"
        case .corruptGzip(let path, let detail):
            return "\(path): corrupt gzip data (\(detail)); download or reinstall the file"

        case .wrongIDXMagic(let path, let found):
            return "\(path): wrong IDX magic number \(hex(found, digits: 8)) "
                + "(expected 0x0000TTNN with TT = type 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32 or 0E float64"
                + " and NN = number of dimensions); is this an IDX file?"
        case .truncatedIDXHeader(let path, let needed, let actual):
            return "\(path): file ends inside the IDX header (needs \(needed) bytes, has \(actual)); "
                + "the file is truncated, download or reinstall it"
        case .idxSizeMismatch(let path, let dimensions, let expected, let actual):
            let shape = dimensions.map(String.init).joined(separator: "x")
            return "\(path): IDX header describes \(shape) elements = \(expected) bytes but the file has \(actual) bytes; "
                + "the file is truncated or damaged, download or reinstall it"
        case .countMismatch(let imagesPath, let imageCount, let labelsPath, let labelCount):
            return "\(imagesPath): \(imageCount) rows but \(labelsPath) has \(labelCount) labels; "
                + "pass an images file and the labels file that belongs to it"
        case .labelOutOfRange(let path, let row, let label, let classCount):
            let range = classCount.map { "outside 0..<\($0)" } ?? "negative"
            return "\(path): label \(label) of row \(row) is \(range); the labels file does not belong to this dataset"

        case .csvMissingHeader(let path):
            return "\(path):1: the first line is all numbers but a header line is required; "
                + "add a line of column names such as x1,x2,label"
        case .csvWrongFieldCount(let path, let line, let expected, let found):
            return "\(path):\(line): \(found) fields but the header has \(expected); give every row one value per column"
        case .csvMissingValue(let path, let line, let column, let columnName):
            return "\(path):\(line): column \(column) (\(columnName)) is empty; fill in every value"
        case .csvInvalidNumber(let path, let line, let column, let columnName, let text):
            return "\(path):\(line): column \(column) (\(columnName)) value \"\(text)\" is not a finite number; "
                + "use plain decimal numbers"
        case .csvUnknownLabelColumn(let path, let requested, let columns):
            return "\(path): no label column \(requested) (columns: \(columns.joined(separator: ", "))); "
                + "pass one of these names or a 0-based index below \(columns.count)"
        }
    }
}

/// `value` as 0x-prefixed upper-case hexadecimal, zero-padded to `digits`.
private func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
}
