// Helpers for the .npy tests: .npy bytes built by hand (for malformed files),
// numpy run through python3 (for files numpy itself wrote), and capturing an
// NPYError's message.

import Datasets
import Foundation
import Testing

/// A .npy file: magic, `version`.0, the header length (2 bytes for 1.0, else 4) and `header` padded as numpy pads it.
func npyBytes(header: String, payload: [UInt8], version: UInt8 = 1) -> [UInt8] {
    let lengthBytes = version == 1 ? 2 : 4
    var text = Array(header.utf8)
    while (10 + lengthBytes - 2 + text.count + 1) % 64 != 0 { text.append(0x20) }
    text.append(0x0A)
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    for index in 0..<lengthBytes { bytes.append(UInt8(truncatingIfNeeded: text.count >> (8 * index))) }
    return bytes + text + payload
}

/// The little-endian bytes of `values` as float32.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
}

/// The message of the NPYError `body` throws, or nil if it returns.
func npyMessage<Result>(_ body: () throws(NPYError) -> Result) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.description
    }
}

enum NumPy {
    /// Runs `script` with numpy imported as np and `directory` as the working directory; killed after 120 s.
    static func run(_ script: String, in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy as np\n" + script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let err = Pipe()
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "python3 with numpy failed (install: bash cluster/install-deps.sh --test): \(stderr)")
    }
}
