// Helpers for the tests that check our metrics and export files with other
// tools' readers: a scratch directory, and python3 run with a hard timeout
// (the PyPI packages come from `bash cluster/install-deps.sh --test`).

import Foundation
import Testing

/// A fresh directory under the system's temporary directory, deleted with the object.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "/dptrain-training-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The text of the file `name` in this directory.
    func text(of name: String) throws -> String {
        try String(contentsOfFile: path + "/" + name, encoding: .utf8)
    }
}

/// The result of a python3 run.
struct PythonResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum Python {
    /// Runs `python3 -c script arguments...`, killed after `timeout` seconds.
    static func run(_ script: String, arguments: [String] = [], timeout: Double = 120) throws -> PythonResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        // Read while the child runs so a full pipe cannot block it.
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        group.wait()
        let result = PythonResult(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
        if result.stderr.contains("ModuleNotFoundError") {
            Issue.record("python3 lacks a package; run: bash cluster/install-deps.sh --test\n\(result.stderr)")
        }
        return result
    }
}
