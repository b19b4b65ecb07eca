// OutputFile: a file written with POSIX calls, for the metrics logs, event
// files and exports. Each write goes to the kernel at once (no user-space
// buffer), so a crash of the process loses nothing already written. Failures
// come back as the system's message; callers wrap them in their typed error.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Engine

/// A file open for writing.
final class OutputFile {
    /// A failed system call: what was attempted and the system's explanation.
    struct Failure: Error {
        /// errno of the call.
        let code: Int32
        /// The system's text for `code`, e.g. "Permission denied".
        var reason: String {
            guard let text = strerror(code) else { return "error \(code)" }
            return String(cString: text)
        }
    }

    /// How to open the file.
    enum Mode {
        /// Create if missing, keep the content, write at the end.
        case append
        /// Create; fail with EEXIST if the file exists.
        case createNew
        /// Create or empty.
        case truncate
    }

    /// Where the file is.
    let path: String
    private var descriptor: Int32

    init(path: String, mode: Mode) throws(Failure) {
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC
        switch mode {
        case .append: flags |= O_APPEND
        case .createNew: flags |= O_EXCL
        case .truncate: flags |= O_TRUNC
        }
        let descriptor = open(path, flags, mode_t(0o644))
        guard descriptor >= 0 else { throw Failure(code: errno) }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { _ = systemClose(descriptor) }
    }

    /// The current size of the file in bytes.
    func size() throws(Failure) -> Int {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Failure(code: errno) }
        return Int(status.st_size)
    }

    /// Writes all of `bytes`, retrying after interrupts and short writes.
    func write(_ bytes: [UInt8]) throws(Failure) {
        precondition(descriptor >= 0, "OutputFile \(path): write after close")
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var written = 0
            while written < raw.count {
                let result = systemWrite(descriptor, base + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                written += result
            }
        }
        if failure != 0 { throw Failure(code: failure) }
    }

    /// Asks the kernel to put the file's data on the disk.
    func synchronize() throws(Failure) {
        guard fsync(descriptor) == 0 else { throw Failure(code: errno) }
    }

    /// Closes the file; later writes are a programming error.
    func close() throws(Failure) {
        guard descriptor >= 0 else { return }
        let result = systemClose(descriptor)
        descriptor = -1
        if result != 0 { throw Failure(code: errno) }
    }

    /// Creates `path` and any missing parent directories (like `mkdir -p`).
    static func makeDirectories(_ path: String) throws(Failure) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, mode_t(0o755)) != 0 && errno != EEXIST { throw Failure(code: errno) }
            prefix += "/"
        }
        var status = stat()
        guard stat(path, &status) == 0 else { throw Failure(code: errno) }
        guard status.st_mode & mode_t(S_IFMT) == mode_t(S_IFDIR) else { throw Failure(code: ENOTDIR) }
    }

    /// Up to `limit` bytes from the start of the file at `path`; empty if it does not exist.
    static func prefix(of path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return [] }
            throw Failure(code: errno)
        }
        defer { _ = systemClose(descriptor) }
        let (bytes, failure) = FileIO.readBytes(descriptor: descriptor, count: limit)
        if failure != 0 { throw Failure(code: failure) }
        return bytes
    }

    /// Replaces the file at `path` with `bytes`: temporary file, fsync, rename,
    /// so an existing file survives any failure.
    static func replace(_ path: String, with bytes: [UInt8]) throws(Failure) {
        let temporary = path + ".tmp-\(getpid())"
        do throws(Failure) {
            let file = try OutputFile(path: temporary, mode: .truncate)
            try file.write(bytes)
            try file.synchronize()
            try file.close()
            guard rename(temporary, path) == 0 else { throw Failure(code: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}

// The module's own names `write` and `close` hide the C functions inside the class.
@inline(__always) private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}

@inline(__always) private func systemClose(_ descriptor: Int32) -> Int32 {
    close(descriptor)
}
