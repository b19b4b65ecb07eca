// AtomicFile: replace a file so that a crash or an error at any moment leaves
// either the old file or the complete new one, and never touches other files.
//
// The sequence is the one POSIX guarantees (rename(2) is atomic within a file
// system; see also "Files are hard", https://danluu.com/file-consistency/):
//   write NAME.tmp → fsync it → close → rename NAME.tmp NAME → fsync the directory.
// Any failure removes NAME.tmp and throws `CheckpointError.writeFailed`.
// POSIX calls rather than Foundation keep errno's precise reason in the message.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Engine

/// Writes bytes to an open file descriptor, reporting failures against `path`.
struct FileSink {
    let descriptor: Int32
    /// The final path, for messages.
    let path: String
    /// The file actually written, for messages.
    let temporaryName: String

    /// Writes all of `bytes`, retrying partial writes and EINTR.
    func append(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        guard var cursor = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = write(descriptor, cursor, min(remaining, 1 << 30))
            if written < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, operation: "write \(temporaryName)", reason: systemMessage(errno))
            }
            cursor += written
            remaining -= written
        }
    }

    /// Writes the bytes of all elements of `array`.
    func append<Element: BitwiseCopyable>(contentsOf array: [Element]) throws(CheckpointError) {
        try array.withUnsafeBytes { raw in Result { () throws(CheckpointError) in try append(raw) } }.get()
    }
}

enum AtomicFile {
    /// Replaces the file at `path` with what `body` writes, atomically and durably.
    static func write(to path: String, _ body: (FileSink) throws(CheckpointError) -> Void) throws(CheckpointError) {
        let temporary = path + ".tmp"
        let temporaryName = baseName(temporary)
        // A NAME.tmp left by a crash is ours to replace. If it cannot be removed, O_EXCL below
        // refuses it (and anything racing us) with the reason.
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .writeFailed(path: path, operation: "create \(temporaryName)", reason: systemMessage(errno))
        }
        var isOpen = true
        do throws(CheckpointError) {
            try body(FileSink(descriptor: descriptor, path: path, temporaryName: temporaryName))
            guard fsync(descriptor) == 0 else {
                throw .writeFailed(path: path, operation: "flush \(temporaryName) to disk", reason: systemMessage(errno))
            }
            isOpen = false
            // close can report a deferred write error (NFS); the descriptor is released either way.
            guard close(descriptor) == 0 else {
                throw .writeFailed(path: path, operation: "close \(temporaryName)", reason: systemMessage(errno))
            }
            guard rename(temporary, path) == 0 else {
                throw .writeFailed(path: path, operation: "rename \(temporaryName) to \(baseName(path))", reason: systemMessage(errno))
            }
        } catch {
            if isOpen { close(descriptor) }
            unlink(temporary)
            throw error
        }
        try syncDirectory(of: path)
    }

    /// Makes the directory entry of `path` (a rename or an unlink) durable.
    static func syncDirectory(of path: String) throws(CheckpointError) {
        let directory = directoryName(path)
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .writeFailed(path: path, operation: "open its directory to flush it", reason: systemMessage(errno))
        }
        defer { close(descriptor) }
        // Some file systems cannot fsync a directory (EINVAL); the rename is as durable as they allow.
        if fsync(descriptor) != 0 && errno != EINVAL {
            throw .writeFailed(path: path, operation: "flush its directory to disk", reason: systemMessage(errno))
        }
    }
}

/// The last component of `path`.
func baseName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

/// Everything before the last `/` of `path` ("." when there is none, "/" for a file at the root).
func directoryName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// The system's text for an errno value, e.g. "No space left on device".
func systemMessage(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// The bytes of the regular file at `path`.
func readWholeFile(_ path: String) throws(CheckpointError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
        let code = errno
        if code == ENOENT { throw .missingFile(path: path) }
        throw .unreadable(path: path, reason: systemMessage(code))
    }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw .unreadable(path: path, reason: systemMessage(errno)) }
    let kind = status.st_mode & mode_t(S_IFMT)
    guard kind == mode_t(S_IFREG) else {
        throw .unreadable(path: path, reason: kind == mode_t(S_IFDIR) ? "it is a directory" : "it is not a regular file")
    }
    let size = Int(status.st_size)
    let (bytes, failure) = FileIO.readBytes(descriptor: descriptor, count: size)
    if failure != 0 { throw .unreadable(path: path, reason: systemMessage(failure)) }
    return bytes
}
