// What the fault tests need besides Binary: jobs that run in the background
// while a test kills, stops or signals one of their ranks, the process tree
// under a launcher (from /proc), the run directory's checkpoints, and the
// checkpoint file's header and CRC-32 to damage a file and predict the message.

import Foundation
import Testing

/// A process started in the background, its output captured, for tests that act on it while it runs.
final class BackgroundJob {
    let process = Process()
    private let out: ReadAll
    private let err: ReadAll

    /// Starts `dptrain ARGUMENTS` (the release build), under `mpiexec -n ranks` when given.
    static func dptrain(_ arguments: [String], ranks: Int? = nil) throws -> BackgroundJob {
        let binary = Binary.release.path
        let command = ranks.map { ["mpiexec", "-n", "\($0)", binary] } ?? [binary]
        return try BackgroundJob(URL(fileURLWithPath: "/usr/bin/env"), command + arguments)
    }

    /// Starts a package script, e.g. `cluster/restart.sh`.
    static func script(_ path: String, _ arguments: [String]) throws -> BackgroundJob {
        try BackgroundJob(Binary.packageRoot.appendingPathComponent(path), arguments)
    }

    private init(_ executable: URL, _ arguments: [String]) throws {
        #expect(FileManager.default.isExecutableFile(atPath: Binary.release.path),
                "build the release binary first: swift build -c release")
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = Binary.packageRoot
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        out = ReadAll(outPipe.fileHandleForReading)
        err = ReadAll(errPipe.fileHandleForReading)
    }

    var pid: Int32 { process.processIdentifier }

    /// The dptrain ranks under this job, with their MPI rank (0 without mpiexec).
    func ranks() -> [(rank: Int, pid: Int32)] {
        ProcessTree.descendants(of: pid).filter { ProcessTree.name(of: $0) == "dptrain" }
            .map { (ProcessTree.mpiRank(of: $0) ?? 0, $0) }
            .sorted { $0.rank < $1.rank }
    }

    /// The pid of MPI rank `rank`, waiting up to 10 s for the ranks to start.
    func pid(ofRank rank: Int) -> Int32? {
        let deadline = Date().addingTimeInterval(10)
        repeat {
            if let found = ranks().first(where: { $0.rank == rank }) { return found.pid }
            usleep(10_000)
        } while Date() < deadline && process.isRunning
        return nil
    }

    /// Waits until `directory` holds a checkpoint of step ≥ `step` and returns that step; nil
    /// (with an issue) if the job ends first or `timeout` passes.
    func waitForCheckpoint(in directory: String, atLeast step: Int, timeout: Double = 60) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let newest = RunDirectory.checkpointSteps(directory).first, newest >= step { return newest }
            if !process.isRunning { break }
            usleep(5_000)
        }
        Issue.record("no checkpoint of step ≥ \(step) in \(directory) while the job ran")
        return nil
    }

    /// Waits for the job to end; past `timeout` seconds it records an issue and kills the whole tree.
    func wait(timeout: Double) -> RunResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            Issue.record("\(process.arguments?.joined(separator: " ") ?? "") did not finish within \(timeout) s")
            killTree()
        }
        process.waitUntilExit()
        return RunResult(
            status: process.terminationStatus,
            stdout: String(decoding: out.wait(), as: UTF8.self),
            stderr: String(decoding: err.wait(), as: UTF8.self))
    }

    /// SIGKILL to the job and everything under it (also stopped processes), while it runs
    /// (once it has been reaped, its pid may belong to another process).
    func killTree() {
        guard process.isRunning else { return }
        for child in ProcessTree.descendants(of: pid) { kill(child, SIGKILL) }
        kill(pid, SIGKILL)
    }
}

/// The process tree, from /proc.
enum ProcessTree {
    /// Every process below `root`.
    static func descendants(of root: Int32) -> [Int32] {
        var parents: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let parent = parentPID(of: pid) else { continue }
            parents[pid] = parent
        }
        var found: [Int32] = []
        var frontier = [root]
        while let next = frontier.popLast() {
            let children = parents.filter { $0.value == next }.map(\.key)
            found += children
            frontier += children
        }
        return found
    }

    /// The command name (`comm`) of `pid`.
    static func name(of pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `PMI_RANK` from the environment of `pid`.
    static func mpiRank(of pid: Int32) -> Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if text.hasPrefix("PMI_RANK=") { return Int(text.dropFirst("PMI_RANK=".count)) }
        }
        return nil
    }

    /// Whether `pid` is a dptrain process stopped by a signal.
    static func isStopped(_ pid: Int32) -> Bool {
        name(of: pid) == "dptrain" && statFields(of: pid).first == "T"
    }

    private static func parentPID(of pid: Int32) -> Int32? {
        let fields = statFields(of: pid)
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// The fields of /proc/PID/stat after "pid (comm)": state, ppid, ... (comm may hold spaces).
    private static func statFields(of pid: Int32) -> [Substring] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return [] }
        return text[text.index(after: close)...].split(separator: " ")
    }
}

/// A run directory as dptrain leaves it.
enum RunDirectory {
    /// Steps of the `ckpt-<step>.safetensors` files, newest first.
    static func checkpointSteps(_ directory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("ckpt-"), name.hasSuffix(".safetensors") else { return nil }
            return Int(name.dropFirst(5).dropLast(12))
        }.sorted(by: >)
    }

    /// `DIR/ckpt-<step, 8 digits>.safetensors`.
    static func checkpoint(_ directory: String, step: Int) -> String {
        directory + "/ckpt-" + String(format: "%08d", step) + ".safetensors"
    }

    /// The text of the `completed` marker, if any.
    static func completed(_ directory: String) -> String? {
        try? String(contentsOfFile: directory + "/completed", encoding: .utf8)
    }

    /// Copies `source` to a new temporary directory.
    static func copy(_ source: String) throws -> String {
        let target = try temporaryDirectory().path
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: target + "/" + name)
        }
        return target
    }
}

/// A safetensors file's layout and metadata, read independently of the code under test.
struct CheckpointBytes {
    var bytes: [UInt8]

    init(path: String) throws {
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    var headerLength: Int { (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) } }
    var dataBytes: Int { bytes.count - 8 - headerLength }

    var metadata: [String: String] {
        let header = Data(bytes[8..<8 + headerLength])
        let object = (try? JSONSerialization.jsonObject(with: header)) as? [String: Any]
        return object?["__metadata__"] as? [String: String] ?? [:]
    }

    /// CRC-32 (zlib's) of the tensor bytes, as the metadata writes it.
    var tensorCRC: String {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes[(8 + headerLength)...] {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return String(format: "0x%08X", ~crc)
    }

    func write(to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
