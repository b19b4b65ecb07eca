// MetricsLog: the run directory's `metrics.jsonl` and `metrics.csv`, one
// record per call (a step, an epoch, a validation pass).
//
// metrics.jsonl (jsonlines.org): one JSON object per line, keys in column
// order, then any other keys in alphabetical order.
// metrics.csv (RFC 4180): a header with the fixed columns chosen at creation,
// then one row per record; a column the record lacks stays empty, keys that
// are not columns appear only in the JSON lines.
// Each line goes to the kernel in one write as soon as it is logged, so a
// crash loses at most the line being written. Reopening a run directory
// appends; the CSV header is written only to an empty file, and an existing
// header must match the columns.

/// Appends metrics records to metrics.jsonl and metrics.csv in a run directory.
public final class MetricsLog {
    /// The run directory.
    public let directory: String
    /// The CSV columns, in order.
    public let columns: [String]
    /// Base name of both files (`metrics` → metrics.jsonl, metrics.csv).
    public let name: String
    /// Path of the JSON-lines file.
    public var jsonLinesPath: String { directory + "/\(name).jsonl" }
    /// Path of the CSV file.
    public var csvPath: String { directory + "/\(name).csv" }

    private let jsonLines: OutputFile
    private let csv: OutputFile

    /// Opens (creating when needed) both files in `directory` for appending.
    /// - Parameter columns: the CSV columns, e.g. `["step", "epoch", "loss", "lr"]`.
    public init(directory: String, columns: [String], name: String = "metrics") throws(MetricsError) {
        precondition(!columns.isEmpty, "MetricsLog needs at least one column")
        precondition(Set(columns).count == columns.count, "MetricsLog columns must be distinct: \(columns)")
        self.directory = directory
        self.columns = columns
        self.name = name
        do {
            try OutputFile.makeDirectories(directory)
        } catch {
            throw .cannotCreateDirectory(path: directory, reason: error.reason)
        }
        let jsonPath = directory + "/\(name).jsonl"
        let csvPath = directory + "/\(name).csv"
        let header = columns.map(MetricValue.csvField).joined(separator: ",")
        let existing: [UInt8]
        do {
            existing = try OutputFile.prefix(of: csvPath, limit: 1 << 16)
        } catch {
            throw .cannotOpen(path: csvPath, reason: error.reason)
        }
        let firstLine = String(decoding: existing.prefix { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
        if !existing.isEmpty && firstLine != header {
            let names = firstLine.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            throw .csvColumnsChanged(path: csvPath, existing: names, requested: columns)
        }
        do {
            jsonLines = try OutputFile(path: jsonPath, mode: .append)
        } catch {
            throw .cannotOpen(path: jsonPath, reason: error.reason)
        }
        do {
            csv = try OutputFile(path: csvPath, mode: .append)
            if try csv.size() == 0 { try csv.write(Array((header + "\n").utf8)) }
        } catch {
            throw .cannotOpen(path: csvPath, reason: error.reason)
        }
    }

    /// Appends `record` as one JSON line and one CSV row.
    public func log(_ record: [String: MetricValue]) throws(MetricsError) {
        let extraKeys = record.keys.filter { !columns.contains($0) }.sorted()
        var fields: [String] = []
        for key in columns + extraKeys {
            if let value = record[key] { fields.append(MetricValue.jsonString(key) + ":" + value.json) }
        }
        let jsonLine = "{" + fields.joined(separator: ",") + "}\n"
        let csvLine = columns.map { record[$0]?.csv ?? "" }.joined(separator: ",") + "\n"
        do {
            try jsonLines.write(Array(jsonLine.utf8))
        } catch {
            throw .cannotWrite(path: jsonLinesPath, reason: error.reason)
        }
        do {
            try csv.write(Array(csvLine.utf8))
        } catch {
            throw .cannotWrite(path: csvPath, reason: error.reason)
        }
    }

    /// Closes both files; the log takes no more records.
    public func close() throws(MetricsError) {
        do {
            try jsonLines.close()
        } catch {
            throw .cannotWrite(path: jsonLinesPath, reason: error.reason)
        }
        do {
            try csv.close()
        } catch {
            throw .cannotWrite(path: csvPath, reason: error.reason)
        }
    }
}
