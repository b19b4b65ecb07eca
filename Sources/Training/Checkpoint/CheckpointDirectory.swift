// CheckpointDirectory: a run directory of checkpoints (DESIGN.md 5).
//
//   ckpt-00000200.safetensors   one file per save, named by global step (8+ digits)
//   latest                      "ckpt-00000200.safetensors\n": the last file saved
//   best                        "ckpt-00000150.safetensors 0.2931 minimize\n": the file
//                               with the best metric so far, its metric and goal
//
// Every file is replaced atomically (AtomicFile). `latest` and `best` are for
// people and scripts; resuming never trusts them but walks the checkpoints
// newest first and takes the first that validates, so a crash between two
// renames cannot lead it astray. Retention after each save keeps the newest K
// files plus the best one. Files with a higher step than the one just saved
// belong to an abandoned timeline (the run resumed from an earlier step) and
// are removed, so a later resume cannot jump back into them.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a smaller or a larger metric is better.
public enum MetricGoal: String, Sendable {
    case minimize
    case maximize

    /// Whether `candidate` beats `incumbent`; NaN never does.
    public func improves(_ candidate: Double, on incumbent: Double) -> Bool {
        self == .minimize ? candidate < incumbent : candidate > incumbent
    }
}

/// A checkpoint file of a run directory.
public struct CheckpointFile: Sendable, Equatable {
    /// Global step in the file name.
    public let step: Int
    /// Full path.
    public let path: String
}

/// The entry of the `best` pointer file.
public struct BestCheckpoint: Sendable, Equatable {
    /// File name inside the run directory.
    public let fileName: String
    /// Its metric.
    public let metric: Double
    /// The goal the metric was compared with.
    public let goal: MetricGoal
}

/// A checkpoint that failed validation, and why.
public struct RejectedCheckpoint: Sendable, Equatable {
    /// Full path.
    public let path: String
    /// What is wrong with it.
    public let error: CheckpointError
    /// The one-line reason.
    public var reason: String { error.description }
}

/// What `newestValid` found.
public struct ResumePoint: Sendable {
    /// The newest checkpoint that validates (its `path` is set), or nil.
    public let checkpoint: Checkpoint?
    /// Newer files that were skipped, newest first, each with its reason.
    public let rejected: [RejectedCheckpoint]
}

/// The checkpoints of one run, in one directory.
public struct CheckpointDirectory: Sendable {
    /// The directory.
    public let path: String

    /// Name of the pointer to the last file saved.
    public static let latestName = "latest"
    /// Name of the pointer to the best file.
    public static let bestName = "best"

    /// A run directory at `path` (created by the first `save`).
    public init(path: String) {
        precondition(!path.isEmpty, "checkpoint directory path is empty")
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// `ckpt-<step, at least 8 digits>.safetensors`.
    public static func fileName(step: Int) -> String {
        precondition(step >= 0, "checkpoint step must be non-negative, got \(step)")
        let digits = String(step)
        return "ckpt-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".safetensors"
    }

    /// The step a checkpoint file name stands for, or nil if `name` is not one.
    public static func step(fromFileName name: String) -> Int? {
        guard name.hasPrefix("ckpt-"), name.hasSuffix(".safetensors") else { return nil }
        let digits = name.dropFirst(5).dropLast(12)
        guard digits.count >= 8, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(digits)
    }

    /// The path of step `step`'s checkpoint.
    public func filePath(step: Int) -> String { join(Self.fileName(step: step)) }

    private func join(_ name: String) -> String { path == "/" ? "/" + name : path + "/" + name }

    // MARK: Saving

    /// Creates the directory and its missing parents.
    public func create() throws(CheckpointError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .unusableDirectory(path: path, reason: "mkdir \(prefix): \(systemMessage(errno))")
            }
            prefix += "/"
        }
        var status = stat()
        guard stat(path, &status) == 0 else { throw .unusableDirectory(path: path, reason: systemMessage(errno)) }
        guard status.st_mode & mode_t(S_IFMT) == mode_t(S_IFDIR) else {
            throw .unusableDirectory(path: path, reason: "it is not a directory")
        }
    }

    /// Writes `checkpoint` as `ckpt-<step>.safetensors`, points `latest` at it, makes it the
    /// best when `metric` improves on the recorded best under `goal`, then keeps the newest
    /// `keep` files plus the best. Returns the file's path. On failure nothing earlier is lost.
    @discardableResult
    public func save(
        _ checkpoint: Checkpoint, keep: Int, metric: Double? = nil, goal: MetricGoal = .minimize
    ) throws(CheckpointError) -> String {
        precondition(keep >= 1, "keep must be at least 1, got \(keep)")
        try create()
        let step = checkpoint.step
        let name = Self.fileName(step: step)
        let file = join(name)
        try checkpoint.write(to: file)
        try writePointer(Self.latestName, name + "\n")
        if let metric, !metric.isNaN {
            // A best that is gone, or from an abandoned timeline, no longer counts.
            var incumbent = best()
            if let current = incumbent, (Self.step(fromFileName: current.fileName) ?? .max) > step
                || !exists(join(current.fileName)) {
                incumbent = nil
            }
            if incumbent.map({ goal.improves(metric, on: $0.metric) }) ?? true {
                try writePointer(Self.bestName, "\(name) \(metric) \(goal.rawValue)\n")
            }
        }
        try prune(keep: keep, newestStep: step)
        return file
    }

    private func writePointer(_ name: String, _ text: String) throws(CheckpointError) {
        try AtomicFile.write(to: join(name)) { (sink) throws(CheckpointError) in try sink.append(contentsOf: Array(text.utf8)) }
    }

    /// Removes checkpoints beyond the newest `keep` at or below `newestStep` (except the best),
    /// every checkpoint above `newestStep`, and temporary files a crash left behind.
    public func prune(keep: Int, newestStep: Int) throws(CheckpointError) {
        let bestName = best()?.fileName
        var kept = 0
        var removed = false
        for file in try checkpoints() {
            let name = baseName(file.path)
            if file.step <= newestStep && kept < keep {
                kept += 1
            } else if file.step > newestStep || name != bestName {
                removed = unlink(file.path) == 0 || removed
            }
        }
        for name in try entries() where name.hasSuffix(".tmp") {
            let target = String(name.dropLast(4))
            if Self.step(fromFileName: target) != nil || target == Self.latestName || target == Self.bestName {
                removed = unlink(join(name)) == 0 || removed
            }
        }
        if removed { try AtomicFile.syncDirectory(of: join(Self.latestName)) }
    }

    // MARK: Reading

    /// The checkpoint files, newest (highest step) first; empty when the directory does not exist.
    public func checkpoints() throws(CheckpointError) -> [CheckpointFile] {
        try entries()
            .compactMap { name in Self.step(fromFileName: name).map { CheckpointFile(step: $0, path: join(name)) } }
            .sorted { $0.step > $1.step }
    }

    /// The file name in `latest`, if the pointer exists and names a checkpoint.
    public func latest() -> String? {
        guard let text = pointer(Self.latestName) else { return nil }
        let name = text.trimmingSuffix()
        return Self.step(fromFileName: name) != nil ? name : nil
    }

    /// The entry of `best`, if the pointer exists and parses.
    public func best() -> BestCheckpoint? {
        guard let text = pointer(Self.bestName) else { return nil }
        let fields = text.trimmingSuffix().split(separator: " ")
        guard fields.count == 3, Self.step(fromFileName: String(fields[0])) != nil,
              let metric = Double(fields[1]), !metric.isNaN, let goal = MetricGoal(rawValue: String(fields[2])) else { return nil }
        return BestCheckpoint(fileName: String(fields[0]), metric: metric, goal: goal)
    }

    /// Walks the checkpoints newest first and returns the first that validates (see
    /// `Checkpoint.init(validating:expecting:)`), with every newer file it rejected and why.
    public func newestValid(expecting modelSpec: String? = nil) throws(CheckpointError) -> ResumePoint {
        var rejected: [RejectedCheckpoint] = []
        for file in try checkpoints() {
            do throws(CheckpointError) {
                let checkpoint = try Checkpoint.load(from: file.path, expecting: modelSpec)
                return ResumePoint(checkpoint: checkpoint, rejected: rejected)
            } catch {
                rejected.append(RejectedCheckpoint(path: file.path, error: error))
            }
        }
        return ResumePoint(checkpoint: nil, rejected: rejected)
    }

    // MARK: Files

    /// Names in the directory (without "." and ".."); empty when it does not exist.
    private func entries() throws(CheckpointError) -> [String] {
        guard let stream = opendir(path) else {
            if errno == ENOENT { return [] }
            throw .unusableDirectory(path: path, reason: systemMessage(errno))
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The text of a small pointer file, or nil if it is missing, unreadable or too long.
    private func pointer(_ name: String) -> String? {
        guard let bytes = try? readWholeFile(join(name)), bytes.count <= 4096 else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}

extension String {
    /// The string without trailing newlines and spaces.
    fileprivate func trimmingSuffix() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == " " || last == "\r\n" { text = text.dropLast() }
        return String(text)
    }
}
