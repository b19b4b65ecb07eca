// What can be wrong with `--config FILE`: each case one line naming the file
// and the key, table or line, and what to do. The CLI reports them as usage
// errors (exit 64).

/// A config file that cannot be used.
enum ConfigFileError: Error, Equatable, CustomStringConvertible {
    /// `--config` is the last argument.
    case missingPath
    /// `--config` appears twice.
    case repeated(first: String, second: String)
    /// The file does not exist.
    case missingFile(path: String)
    /// The file exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// The file is not valid TOML.
    case syntax(path: String, line: Int, column: Int, message: String)
    /// A key that names no option.
    case unknownKey(path: String, key: String, suggestion: String?)
    /// A table that is not one of `ConfigFile.tables`.
    case unknownTable(path: String, table: String, suggestion: String?)
    /// A value of the wrong TOML type.
    case wrongType(path: String, key: String, expected: String, got: String)
    /// Two keys that set the same option (two tables, or an option and its alias).
    case setTwice(path: String, first: String, second: String)
    /// An option that a config file cannot set.
    case notSettable(path: String, key: String)
    /// The resolved config cannot be written.
    case cannotWrite(path: String, reason: String)

    var description: String {
        switch self {
        case .missingPath:
            return "--config needs a file, e.g. --config cluster/configs/xor.toml"
        case .repeated(let first, let second):
            return "--config given twice ('\(first)' and '\(second)'); pass one file"
        case .missingFile(let path):
            return "--config '\(path)': no such file"
        case .unreadable(let path, let reason):
            return "--config '\(path)': cannot read it: \(reason)"
        case .syntax(let path, let line, let column, let message):
            return "\(path): line \(line), column \(column): \(message)"
        case .unknownKey(let path, let key, let suggestion):
            if let suggestion { return "\(path): unknown key '\(key)'; did you mean '\(suggestion)'?" }
            return "\(path): unknown key '\(key)'; the keys are the long option names of 'dptrain train --help'"
        case .unknownTable(let path, let table, let suggestion):
            if let suggestion { return "\(path): unknown table [\(table)]; did you mean [\(suggestion)]?" }
            return "\(path): unknown table [\(table)]; valid tables: "
                + ConfigFile.tables.map { "[\($0)]" }.joined(separator: ", ")
        case .wrongType(let path, let key, let expected, let got):
            return "\(path): key '\(key)' must be \(expected), got \(got)"
        case .setTwice(let path, let first, let second):
            return "\(path): \(first) and \(second) set the same option; keep one"
        case .notSettable(let path, let key):
            return "\(path): key '\(key)' cannot be set in a config file; pass --\(key) on the command line"
        case .cannotWrite(let path, let reason):
            return "cannot write the resolved config to '\(path)': \(reason)"
        }
    }
}
