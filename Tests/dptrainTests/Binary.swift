// Runs the built dptrain executable, directly or under mpiexec, with a hard
// timeout, and captures its exit code, stdout and stderr.
//
// Tests that train use the release binary (debug Swift is many times slower
// on numeric loops): `swift build -c release` first, or point DPTRAIN_BINARY
// at a binary.

import Foundation
import Testing

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String

    /// The fingerprint from the final `... sha256 HEX` line.
    var fingerprint: String? {
        guard let line = stdout.split(separator: "\n").last(where: { $0.contains("sha256 ") }),
              let range = line.range(of: "sha256 ") else { return nil }
        return String(line[range.upperBound...].prefix(64))
    }

    /// The percentage on the final `test accuracy X%` line.
    var testAccuracy: Double? {
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("test accuracy ") }) else { return nil }
        let number = line.dropFirst("test accuracy ".count).prefix { $0 != "%" }
        return Double(number)
    }
}

enum Binary {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The release build of dptrain.
    static var release: URL {
        if let path = ProcessInfo.processInfo.environment["DPTRAIN_BINARY"] { return URL(fileURLWithPath: path) }
        return packageRoot.appendingPathComponent(".build/release/dptrain")
    }

    /// Runs `dptrain ARGUMENTS` (under `mpiexec -n ranks` when given), killing it after `timeout` seconds.
    static func run(_ arguments: [String], ranks: Int? = nil, timeout: Double = 300) throws -> RunResult {
        let binary = release
        #expect(FileManager.default.isExecutableFile(atPath: binary.path),
                "build the release binary first: swift build -c release (looked for \(binary.path))")
        if let ranks {
            return try runCommand(["mpiexec", "-n", "\(ranks)", binary.path] + arguments, timeout: timeout)
        }
        return try runCommand([binary.path] + arguments, timeout: timeout)
    }

    /// Runs `command` (looked up on PATH) in the package root, killing it after `timeout` seconds.
    static func runCommand(_ command: [String], timeout: Double = 300) throws -> RunResult {
        try launch(URL(fileURLWithPath: "/usr/bin/env"), command, timeout: timeout, terminationGrace: 0)
    }

    /// Runs `script ARGUMENTS` (a path relative to the package root). After `timeout` seconds the
    /// script gets SIGTERM, so that its traps can clean up, and SIGKILL 15 s later.
    static func runScript(_ script: String, _ arguments: [String], timeout: Double) throws -> RunResult {
        try launch(packageRoot.appendingPathComponent(script), arguments, timeout: timeout, terminationGrace: 15)
    }

    /// Runs `executable ARGUMENTS` in the package root with captured output. Past `timeout`
    /// it records an issue, sends SIGTERM when `terminationGrace` > 0, and SIGKILL after the grace.
    private static func launch(
        _ executable: URL, _ arguments: [String], timeout: Double, terminationGrace: Double
    ) throws -> RunResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = ReadAll(out.fileHandleForReading)
        let errData = ReadAll(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("\(arguments.joined(separator: " ")) did not finish within \(timeout) s")
            if terminationGrace > 0 {
                kill(process.processIdentifier, SIGTERM)
                let grace = Date().addingTimeInterval(terminationGrace)
                while process.isRunning && Date() < grace { usleep(20_000) }
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return RunResult(
            status: process.terminationStatus,
            stdout: String(decoding: outData.wait(), as: UTF8.self),
            stderr: String(decoding: errData.wait(), as: UTF8.self))
    }
}

/// Drains a pipe on a background thread so a chatty child never blocks.
final class ReadAll: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// A fresh temporary directory.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dptrain-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

