// Shared pieces of the checkpoint tests: a sample checkpoint with awkward
// float bit patterns, an independent bitwise CRC-32, temporary directories,
// and a runner for the Python safetensors reader (install it with
// `bash cluster/install-deps.sh --test`).

import Foundation
import Testing
@testable import Training

/// CRC-32 bit by bit (reflected polynomial 0xEDB88320, init and xor-out 0xFFFFFFFF),
/// independent of the zlib call under test.
func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// The little-endian bytes of `values`.
func bytes(of values: [Float]) -> [UInt8] {
    values.withUnsafeBytes { Array($0) }
}

/// A checkpoint of a 3-4-2 model whose values include -0, ±inf, a NaN payload and subnormals.
func sampleCheckpoint(step: Int = 200, modelSpec: String = "3-4:relu-2:softmax") -> Checkpoint {
    let special: [Float] = [
        -0.0, .infinity, -.infinity, Float(bitPattern: 0x7FC0_1234), .leastNonzeroMagnitude, -.leastNormalMagnitude,
        .greatestFiniteMagnitude, 1 / 3,
    ]
    let weight = (0..<12).map { index in index < special.count ? special[index] : Float(index) * 0.1 - 0.55 }
    return Checkpoint(
        modelSpec: modelSpec, step: step,
        tensors: [
            CheckpointTensor(name: "layers.0.weight", shape: [3, 4], values: weight),
            CheckpointTensor(name: "layers.0.bias", shape: [4], values: [0.25, -0.5, 1e-3, 7]),
            CheckpointTensor(name: "layers.1.weight", shape: [4, 2], values: (0..<8).map { Float($0) - 3.5 }),
            CheckpointTensor(name: "layers.1.bias", shape: [2], values: [1, -1]),
            CheckpointTensor(name: "empty", shape: [0, 5], values: []),
            CheckpointTensor(name: "scale", shape: [], values: [2.5]),
        ],
        metadata: ["epoch": "3", "optimizer": #"{"adam":{"beta1":0.9}}"#, "note": "tab\tquote\" ünïcode ∑ 🚀"])
}

/// The error of loading `bytes` as a checkpoint, or nil if it loads.
func loadError(_ bytes: [UInt8], path: String = "ckpt-00000200.safetensors", expecting modelSpec: String? = nil)
    -> CheckpointError?
{
    do throws(CheckpointError) {
        _ = try Checkpoint(validating: SafeTensorsFile(bytes: bytes, path: path), expecting: modelSpec)
        return nil
    } catch {
        return error
    }
}

/// A file of `tensors` (F32) with exactly `metadata`, no CRCs added: for files dptrain would not write.
func rawSafeTensors(_ tensors: [CheckpointTensor], metadata: [String: String]) -> [UInt8] {
    let entries = SafeTensors.contiguousEntries(tensors.map { ($0.name, .f32, $0.shape) })
    return SafeTensors.encodeHeader(entries, metadata: metadata) + tensors.flatMap { bytes(of: $0.values) }
}

/// The header length field of a file.
func headerLength(_ bytes: [UInt8]) -> Int {
    (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
}

/// A fresh temporary directory, removed by `body`'s caller via `defer`.
func checkpointTemporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dptrain-ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// Runs `python3 -c script arguments...`; returns stdout, recording an issue on failure.
func runPython(_ script: String, _ arguments: [String]) throws -> String? {
    let result = try Python.run(script, arguments: arguments)
    guard result.status == 0 else {
        Issue.record("""
            python3 failed (\(result.status)); install the readers with `bash cluster/install-deps.sh --test`:
            \(result.stderr)
            """)
        return nil
    }
    return result.stdout
}
