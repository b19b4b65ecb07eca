// MetricsError: what can go wrong writing the run directory's metrics and
// TensorBoard files, as a typed error with a one-line message (DESIGN.md 8).

/// A failure to write metrics files, with a message naming the path and the fix.
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    /// The run directory (or a parent) could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// A metrics file could not be opened or created.
    case cannotOpen(path: String, reason: String)
    /// Writing to a metrics file failed (disk full, I/O error, ...).
    case cannotWrite(path: String, reason: String)
    /// An existing metrics.csv has other columns than this run writes.
    case csvColumnsChanged(path: String, existing: [String], requested: [String])

    /// The message, one line: the path, what is wrong, what to do.
    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "\(path): cannot create the directory (\(reason)); choose a writable run directory"
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open for writing (\(reason)); check the run directory's permissions"
        case .cannotWrite(let path, let reason):
            return "\(path): write failed (\(reason)); check free disk space"
        case .csvColumnsChanged(let path, let existing, let requested):
            return "\(path): the file has columns \(existing.joined(separator: ",")) but this run writes "
                + "\(requested.joined(separator: ",")); use a new run directory or move the old file away"
        }
    }
}
