// FileBytes: the whole content of a file as bytes, gunzipped when it is gzip.
//
// The readers parse from memory: Fashion-MNIST's largest file is 47 MB
// uncompressed, and one read plus one inflate pass is the fastest way in.
// POSIX calls keep the errors precise (no such file vs. permission denied).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Engine

/// Reads whole files for the dataset readers.
enum FileBytes {
    /// The bytes of the file at `path`, decompressed if they start with the gzip magic 0x1f 0x8b.
    /// - Parameter missing: the error to throw when the file does not exist.
    static func contents(
        of path: String,
        missing: (String) -> DatasetError = { .missingFile(path: $0) }
    ) throws(DatasetError) -> [UInt8] {
        let raw = try rawContents(of: path, missing: missing)
        if raw.count >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
            return try Gzip.decompress(raw, path: path)
        }
        return raw
    }

    /// The bytes of the file at `path`, exactly as stored.
    static func rawContents(
        of path: String,
        missing: (String) -> DatasetError = { .missingFile(path: $0) }
    ) throws(DatasetError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT { throw missing(path) }
            throw .unreadable(path: path, reason: systemMessage(code))
        }
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(path: path, reason: systemMessage(errno)) }
        let kind = status.st_mode & mode_t(S_IFMT)
        guard kind == mode_t(S_IFREG) else {
            let reason = kind == mode_t(S_IFDIR) ? "it is a directory" : "it is not a regular file"
            throw .unreadable(path: path, reason: reason)
        }
        let size = Int(status.st_size)
        if size == 0 { throw .emptyFile(path: path) }

        let (bytes, failure) = FileIO.readBytes(descriptor: descriptor, count: size)
        if failure != 0 { throw .unreadable(path: path, reason: systemMessage(failure)) }
        if bytes.isEmpty { throw .emptyFile(path: path) }
        return bytes
    }

    /// Whether a regular file or directory exists at `path`.
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The system's text for an errno value, e.g. "Permission denied".
    private static func systemMessage(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
