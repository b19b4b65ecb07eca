// CSVDataset: a Dataset from a small numeric CSV file with a header line.
//
// Format: comma-separated, first non-blank line = column names (optionally in
// double quotes), every other non-blank line = one row of finite numbers.
// Lines end in \n or \r\n; spaces around fields and blank lines are ignored. One column is the
// label; the others, in file order, are the features. Labels that are all
// non-negative integers become classes (classCount = largest + 1), any other
// labels become value targets of width 1.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Engine

/// Which CSV column holds the label.
public enum CSVLabelColumn: Sendable, Equatable {
    /// The column named `label` if there is one, else the last column.
    case automatic
    /// The column with this header name.
    case named(String)
    /// The column at this 0-based position.
    case index(Int)
}

/// Loads datasets stored as CSV files.
public enum CSVDataset {
    /// Reads the CSV file at `path` (plain or gzip) into a dataset.
    /// - Parameters:
    ///   - labelColumn: which column is the label.
    ///   - labelsAsValues: make value targets even when every label is a non-negative integer.
    ///   - name: the dataset's name; the file name if nil.
    public static func load(
        path: String,
        labelColumn: CSVLabelColumn = .automatic,
        labelsAsValues: Bool = false,
        name: String? = nil
    ) throws(DatasetError) -> Dataset {
        let bytes = try FileBytes.contents(of: path)
        return try parse(bytes, path: path, labelColumn: labelColumn, labelsAsValues: labelsAsValues, name: name)
    }

    /// Parses CSV text already in memory; `path` is for error messages and the default name.
    public static func parse(
        _ bytes: [UInt8],
        path: String,
        labelColumn: CSVLabelColumn = .automatic,
        labelsAsValues: Bool = false,
        name: String? = nil
    ) throws(DatasetError) -> Dataset {
        var lines = LineReader(bytes)
        var header: [String] = []
        while let line = lines.next() {
            let fields = split(line.text)
            if fields.count == 1 && fields[0].isEmpty { continue }  // Blank line.
            header = fields.map { unquoted(String(decoding: $0, as: UTF8.self)) }
            if fields.allSatisfy({ number(in: $0) != nil }) { throw .csvMissingHeader(path: path) }
            break
        }
        if header.isEmpty { throw .emptyFile(path: path) }

        let label = try labelIndex(labelColumn, header: header, path: path)
        let columnCount = header.count
        let featureCount = columnCount - 1
        guard featureCount > 0 else { throw .noFeatures(path: path) }

        var features: [Float] = []
        var labels: [Double] = []
        features.reserveCapacity(featureCount * max(bytes.count / (4 * columnCount), 1))
        while let line = lines.next() {
            let fields = split(line.text)
            if fields.count == 1 && fields[0].isEmpty { continue }
            guard fields.count == columnCount else {
                throw .csvWrongFieldCount(path: path, line: line.number, expected: columnCount, found: fields.count)
            }
            for (column, field) in fields.enumerated() {
                guard !field.isEmpty else {
                    throw .csvMissingValue(path: path, line: line.number, column: column + 1, columnName: header[column])
                }
                guard let value = number(in: field) else {
                    throw .csvInvalidNumber(
                        path: path, line: line.number, column: column + 1, columnName: header[column],
                        text: String(decoding: field.prefix(40), as: UTF8.self))
                }
                if column == label { labels.append(value) } else { features.append(Float(value)) }
            }
        }
        guard !labels.isEmpty else { throw .noDataRows(path: path) }

        let isClasses = !labelsAsValues && labels.allSatisfy { $0 >= 0 && $0 <= Double(Int32.max) && $0.rounded() == $0 }
        let targets: Targets
        if isClasses {
            let classes = labels.map { Int32($0) }
            targets = .classes(labels: classes, classCount: Int(classes.max() ?? 0) + 1)
        } else {
            targets = .values(FloatBuffer(labels.map { Float($0) }), width: 1)
        }
        return Dataset(name: name ?? baseName(path), featureCount: featureCount, features: FloatBuffer(features),
                       targets: targets)
    }

    /// The 0-based index of the label column in `header`.
    private static func labelIndex(_ choice: CSVLabelColumn, header: [String], path: String) throws(DatasetError) -> Int {
        switch choice {
        case .automatic:
            return header.firstIndex(of: "label") ?? header.count - 1
        case .named(let name):
            guard let index = header.firstIndex(of: name) else {
                throw .csvUnknownLabelColumn(path: path, requested: "\"\(name)\"", columns: header)
            }
            return index
        case .index(let index):
            guard index >= 0 && index < header.count else {
                throw .csvUnknownLabelColumn(path: path, requested: "index \(index)", columns: header)
            }
            return index
        }
    }

    /// The comma-separated fields of `line`, each trimmed of spaces, tabs and a trailing carriage return.
    private static func split(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(trimmed)
    }

    private static func trimmed(_ field: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0D }
        guard let first = field.firstIndex(where: { !isSpace($0) }),
              let last = field.lastIndex(where: { !isSpace($0) }) else { return field[field.endIndex...] }
        return field[first...last]
    }

    /// `name` without one pair of surrounding double quotes.
    private static func unquoted(_ name: String) -> String {
        guard name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") else { return name }
        return String(name.dropFirst().dropLast())
    }

    /// The finite number spelled by all of `field`, or nil.
    private static func number(in field: ArraySlice<UInt8>) -> Double? {
        guard !field.isEmpty, field.count <= 1024 else { return nil }
        // strtod needs a terminated string; a stack-sized copy avoids a String per field.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: field.count + 1) { text -> Double? in
            guard let start = text.baseAddress else { return nil }
            for (offset, byte) in field.enumerated() { start[offset] = CChar(bitPattern: byte) }
            start[field.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(start, &end)
            guard end == start + field.count, value.isFinite else { return nil }
            return value
        }
    }
}

/// Splits bytes into lines at \n and numbers them from 1.
private struct LineReader {
    private let bytes: [UInt8]
    private var position = 0
    private var lineNumber = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        // A UTF-8 byte order mark, as some spreadsheet programs write, is not part of the first name.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    /// The next line without its newline, with its 1-based number; nil at the end.
    mutating func next() -> (text: ArraySlice<UInt8>, number: Int)? {
        guard position < bytes.count else { return nil }
        let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        let line = bytes[position..<end]
        position = end + 1
        lineNumber += 1
        return (line, lineNumber)
    }
}
