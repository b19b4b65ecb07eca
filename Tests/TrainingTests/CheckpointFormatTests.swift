// The checkpoint file format: our files round-trip bit for bit, carry the
// documented metadata and CRCs, and interoperate with the reference Python
// safetensors reader and writer in both directions.

import Engine
import Foundation
import Layers
import Testing
@testable import Training

@Suite struct CheckpointFormatTests {
    @Test func roundTripKeepsEveryBitAndTheMetadata() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let original = sampleCheckpoint()
        let path = directory + "/ckpt-00000200.safetensors"
        try original.write(to: path)
        let loaded = try Checkpoint.load(from: path, expecting: "3-4:relu-2:softmax")

        #expect(loaded.path == path)
        #expect(loaded.tensors.map(\.name) == original.tensors.map(\.name))
        #expect(loaded.tensors.map(\.shape) == original.tensors.map(\.shape))
        for (read, written) in zip(loaded.tensors, original.tensors) {
            #expect(read.values.map(\.bitPattern) == written.values.map(\.bitPattern), "\(read.name)")
        }
        for (key, value) in original.metadata { #expect(loaded.metadata[key] == value, "\(key)") }
        #expect(loaded.metadata["format"] == "dptrain-checkpoint")
        #expect(loaded.metadata["format_version"] == "1")
        #expect(loaded.step == 200 && loaded.epoch == 3 && loaded.modelSpec == "3-4:relu-2:softmax")
        #expect(Set(loaded.metadata.keys) == Set(original.metadata.keys).union(
            ["format", "format_version", "tensor_crc32", "header_crc32"]))
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == original.encoded())
    }

    @Test func tensorCRCIsZlibCRC32OfTheTensorBytesInFileOrder() throws {
        let checkpoint = sampleCheckpoint()
        let file = try SafeTensorsFile(bytes: checkpoint.encoded(), path: "x")
        let expected = referenceCRC32(checkpoint.tensors.flatMap { bytes(of: $0.values) })
        #expect(file.metadata["tensor_crc32"] == crcText(expected))
        #expect(referenceCRC32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(crcText(0xCBF4_3926) == "0xCBF43926" && crcText(0x1F) == "0x0000001F")
    }

    @Test func headerIsPaddedWithSpacesAndTensorsAreContiguousInOrder() throws {
        let bytes = sampleCheckpoint().encoded()
        let length = headerLength(bytes)
        #expect(length % 8 == 0)
        let header = String(decoding: bytes[8..<8 + length], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"#))
        let file = try SafeTensorsFile(bytes: bytes, path: "x")
        #expect(file.tensors.map(\.name) == sampleCheckpoint().tensors.map(\.name))
        #expect(file.tensors.first?.dataRange.lowerBound == 0)
        #expect(file.tensors.last?.dataRange.upperBound == file.dataBytes)
        #expect(file.tensors.map(\.dataRange) == [0..<48, 48..<64, 64..<96, 96..<104, 104..<104, 104..<108])
    }

    @Test func jsonStringsWithEscapesAndUnicodeRoundTrip() throws {
        let awkward = "a\"b\\c/d\u{1}\u{1F}\n\r\t é ∑ 🚀 \u{7F}"
        let entries = SafeTensors.contiguousEntries([(awkward, .u8, [1])])
        let bytes = SafeTensors.encodeHeader(entries, metadata: [awkward: awkward, "": ""]) + [9]
        let file = try SafeTensorsFile(bytes: bytes, path: "x")
        #expect(file.metadata == [awkward: awkward, "": ""])
        #expect(file.tensors.first?.name == awkward)
        #expect(file.entry(named: awkward).flatMap { file.values(of: $0, as: UInt8.self) } == [9])
    }

    @Test func arenaSlicesRestoreIntoTheSameLayout() throws {
        let layout = ParameterLayout(try ModelSpec(parsing: "3-5:prelu(0.25)-2:softmax"))
        let arena = FloatBuffer((0..<layout.count).map { Float($0) * 0.5 })
        let tensors = CheckpointTensor.slices(of: arena, layout: layout, prefix: "adam.m.")
        #expect(tensors.map(\.name) == layout.tensors.map { "adam.m." + $0.name })
        let checkpoint = Checkpoint(modelSpec: "3-5:prelu(0.25)-2:softmax", step: 1, tensors: tensors)
        let loaded = try Checkpoint(validating: SafeTensorsFile(bytes: checkpoint.encoded(), path: "c"))
        let restored = FloatBuffer(count: layout.count)
        try loaded.restore(into: restored, layout: layout, prefix: "adam.m.")
        for slot in layout.tensors {
            for index in slot.offset..<slot.offset + slot.count { #expect(restored[index] == arena[index]) }
        }
        #expect(throws: CheckpointError.missingTensor(path: "c", name: "layers.0.weight")) {
            try loaded.restore(into: restored, layout: layout)
        }
        let other = ParameterLayout(try ModelSpec(parsing: "3-6:prelu(0.25)-2:softmax"))
        #expect(throws: CheckpointError.wrongTensorShape(path: "c", name: "adam.m.layers.0.weight", found: [3, 5], expected: [3, 6])) {
            try loaded.restore(into: FloatBuffer(count: other.count), layout: other, prefix: "adam.m.")
        }
    }

    // MARK: Python interoperability

    @Test func pythonSafetensorsLoadsOurFileWithTheSameValues() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checkpoint = sampleCheckpoint()
        let path = directory + "/ckpt.safetensors"
        try checkpoint.write(to: path)
        // Each line: name, shape, and the uint32 bit patterns; then the metadata as JSON.
        let script = """
            import sys, json
            from safetensors import safe_open
            from safetensors.numpy import load_file
            tensors = load_file(sys.argv[1])
            for name, array in tensors.items():
                assert array.dtype.name == "float32", array.dtype
                print(name, list(array.shape), " ".join(str(int(v)) for v in array.reshape(-1).view("<u4")))
            with safe_open(sys.argv[1], framework="numpy") as f:
                print(json.dumps(f.metadata(), sort_keys=True))
            """
        guard let output = try runPython(script, [path]) else { return }
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let metadataLine = lines.removeLast()
        var expected: [String] = []
        for tensor in checkpoint.tensors {
            let bits = tensor.values.map { String($0.bitPattern) }.joined(separator: " ")
            expected.append("\(tensor.name) [\(tensor.shape.map(String.init).joined(separator: ", "))] \(bits)")
        }
        #expect(Set(lines) == Set(expected))
        let metadata = try JSONSerialization.jsonObject(with: Data(metadataLine.utf8)) as? [String: String]
        let ours = try SafeTensorsFile(path: path).metadata
        #expect(metadata == ours)
    }

    @Test func ourReaderLoadsAFileWrittenByPythonSafetensors() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/python.safetensors"
        let script = """
            import sys, numpy as np
            from safetensors.numpy import save_file
            save_file({
                "weights": np.array([[1.5, -2.0, 3.25], [0.0, -0.0, 1e-40]], dtype=np.float32),
                "doubles": np.array([0.1, -2.5, 1e300], dtype=np.float64),
                "counts": np.array([[-3, 9007199254740993]], dtype=np.int64),
                "bytes": np.array([0, 7, 255], dtype=np.uint8),
                "scalar": np.array(4.5, dtype=np.float32),
                "nothing": np.zeros((2, 0), dtype=np.float32),
            }, sys.argv[1], metadata={"source": "numpy", "ünï": "∑"})
            """
        guard try runPython(script, [path]) != nil else { return }
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["source": "numpy", "ünï": "∑"])
        func entry(_ name: String) throws -> SafeTensorsEntry { try #require(file.entry(named: name)) }
        #expect(try entry("weights").shape == [2, 3] && entry("weights").dtype == .f32)
        #expect(try file.values(of: entry("weights"), as: Float.self)?.map(\.bitPattern)
            == [1.5, -2.0, 3.25, 0.0, -0.0, Float(1e-40 as Double)].map(\.bitPattern))
        #expect(try file.values(of: entry("doubles"), as: Double.self) == [0.1, -2.5, 1e300])
        #expect(try file.values(of: entry("counts"), as: Int64.self) == [-3, 9_007_199_254_740_993])
        #expect(try entry("counts").shape == [1, 2])
        #expect(try file.values(of: entry("bytes"), as: UInt8.self) == [0, 7, 255])
        #expect(try entry("scalar").shape == [] && file.values(of: entry("scalar"), as: Float.self) == [4.5])
        #expect(try entry("nothing").shape == [2, 0] && file.values(of: entry("nothing"), as: Float.self) == [])
        #expect(try file.values(of: entry("doubles"), as: Float.self) == nil)
        // A safetensors file, but not a dptrain checkpoint.
        #expect(throws: CheckpointError.missingMetadata(path: path, key: "format")) { try Checkpoint.load(from: path) }
    }
}
