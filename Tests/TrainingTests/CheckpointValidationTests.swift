// Damaged and foreign files: each problem is refused with its own one-line
// message that names the file — never a crash, never a huge allocation.

import Foundation
import Testing
@testable import Training

/// A file with the header text `json` (padded to 8 bytes) and `data` after it.
func fileWithHeader(_ json: String, data: [UInt8] = []) -> [UInt8] {
    var header = Array(json.utf8)
    header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
    return (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + data
}

/// `{"name": {"dtype": dtype, "shape": shape, "data_offsets": offsets}}` text.
func entryJSON(_ name: String, _ shape: String, _ offsets: String, dtype: String = "F32") -> String {
    #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
}

@Suite struct CheckpointValidationTests {
    static let name = "ckpt-00000200.safetensors"
    static let damaged = "the file is damaged or not a checkpoint"

    static let headerCases: [(String, String, Int, String)] = [
        ("duplicate tensor", "{" + entryJSON("a", "[1]", "[0,4]") + "," + entryJSON("a", "[1]", "[4,8]") + "}", 8,
         "tensor 'a' appears twice in the header; \(damaged)"),
        ("unknown dtype", "{" + entryJSON("w", "[1]", "[0,4]", dtype: "F17") + "}", 4,
         "tensor 'w' has unknown dtype 'F17' (valid: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64); \(damaged)"),
        ("size does not match shape", "{" + entryJSON("w", "[2]", "[0,4]") + "}", 4,
         "tensor 'w' of shape [2] F32 does not fit its data_offsets [0, 4]; \(damaged)"),
        ("reversed offsets", "{" + entryJSON("w", "[1]", "[4,0]") + "}", 4,
         "tensor 'w' of shape [1] F32 does not fit its data_offsets [4, 0]; \(damaged)"),
        ("shape product overflows", "{" + entryJSON("w", "[4611686018427387904,4]", "[0,4]") + "}", 4,
         "tensor 'w' of shape [4611686018427387904, 4] F32 does not fit its data_offsets [0, 4]; \(damaged)"),
        ("overlapping tensors", "{" + entryJSON("a", "[2]", "[0,8]") + "," + entryJSON("b", "[2]", "[4,12]") + "}", 12,
         "tensor 'b' starts at data byte 4 but the previous tensor ends at 8 (tensors must be contiguous and must not overlap); \(damaged)"),
        ("gap between tensors", "{" + entryJSON("a", "[1]", "[0,4]") + "," + entryJSON("b", "[1]", "[8,12]") + "}", 12,
         "tensor 'b' starts at data byte 8 but the previous tensor ends at 4 (tensors must be contiguous and must not overlap); \(damaged)"),
        ("offsets past the end", "{" + entryJSON("w", "[100]", "[0,400]") + "}", 4,
         "tensor 'w' ends at data byte 400 but the file holds 4 data bytes; the file is truncated"),
        ("bytes after the last tensor", "{" + entryJSON("w", "[1]", "[0,4]") + "}", 9,
         "5 bytes after the last tensor; \(damaged)"),
        ("negative dimension", "{" + entryJSON("w", "[-1]", "[0,4]") + "}", 4,
         "malformed header: tensor 'w' shape is not an array of non-negative integers; \(damaged)"),
        ("offset beyond Int", "{" + entryJSON("w", "[1]", "[0,99999999999999999999]") + "}", 4,
         "malformed header: tensor 'w' data_offsets is not an array of 2 non-negative integers; \(damaged)"),
        ("fractional offset", "{" + entryJSON("w", "[1]", "[0,4.0]") + "}", 4,
         "malformed header: tensor 'w' data_offsets is not an array of 2 non-negative integers; \(damaged)"),
        ("three offsets", "{" + entryJSON("w", "[1]", "[0,4,8]") + "}", 4,
         "malformed header: tensor 'w' data_offsets is not an array of 2 non-negative integers; \(damaged)"),
        ("missing data_offsets", #"{"w":{"dtype":"F32","shape":[1]}}"#, 4,
         "malformed header: tensor 'w' has no 'data_offsets'; \(damaged)"),
        ("dtype twice", #"{"w":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,4]}}"#, 4,
         "malformed header: tensor 'w' has 'dtype' twice; \(damaged)"),
        ("entry not an object", #"{"w":[1,2]}"#, 0, "malformed header: tensor 'w' is an array, not an object; \(damaged)"),
        ("metadata value not a string", #"{"__metadata__":{"k":1}}"#, 0,
         "malformed header: metadata 'k' is a number, not a string; \(damaged)"),
        ("metadata twice", #"{"__metadata__":{},"__metadata__":{}}"#, 0,
         "malformed header: '__metadata__' appears twice; \(damaged)"),
        ("header is an array", "[]", 0, "malformed header: the header does not start with '{'; \(damaged)"),
        ("empty header", "", 0, "malformed header: the header does not start with '{'; \(damaged)"),
        ("garbage after the object", "{} x", 0,
         "malformed header: unexpected 'x' after the JSON value at header byte 3; \(damaged)"),
        ("unterminated string", #"{"abc"#, 0, "malformed header: unterminated string at header byte 1; \(damaged)"),
        ("nesting too deep", #"{"__metadata__":{"k":"# + String(repeating: "[", count: 40), 0,
         "malformed header: values nested deeper than 16 levels at header byte 35; \(damaged)"),
        ("bad escape", #"{"a\q":1}"#, 0, "malformed header: unknown escape '\\q' at header byte 3; \(damaged)"),
        ("lone surrogate", #"{"\ud800":1}"#, 0,
         "malformed header: unpaired UTF-16 surrogate in \\u escape at header byte 8; \(damaged)"),
        ("leading zero", #"{"w":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}"#, 4,
         "malformed header: malformed number at header byte 29; \(damaged)"),
    ]

    @Test(arguments: headerCases)
    func malformedHeaderIsNamed(problem: String, json: String, dataBytes: Int, message: String) {
        let bytes = fileWithHeader(json, data: [UInt8](repeating: 0, count: dataBytes))
        #expect(loadError(bytes)?.description == "\(Self.name): \(message)", "\(problem)")
    }

    @Test func truncatedFileIsNamed() {
        let bytes = sampleCheckpoint().encoded()
        let dataBytes = bytes.count - 8 - headerLength(bytes)
        #expect(loadError(Array(bytes.dropLast(10)))?.description
            == "\(Self.name): tensor 'scale' ends at data byte \(dataBytes) but the file holds \(dataBytes - 10) data bytes; the file is truncated")
        #expect(loadError(Array(bytes.prefix(100)))?.description
            == "\(Self.name): header claims \(headerLength(bytes)) bytes but the file has 100; the file is truncated or not a checkpoint")
        #expect(loadError(Array(bytes.prefix(5)))?.description
            == "\(Self.name): the file has 5 bytes, fewer than the 8-byte header length; the file is truncated or not a checkpoint")
        #expect(loadError([])?.description
            == "\(Self.name): the file has 0 bytes, fewer than the 8-byte header length; the file is truncated or not a checkpoint")
    }

    @Test func flippedTensorByteFailsTheCRC() throws {
        var bytes = sampleCheckpoint().encoded()
        let dataStart = 8 + headerLength(bytes)
        bytes[dataStart + 50] ^= 0x04
        let recorded = try #require(SafeTensorsFile(bytes: bytes, path: "x").metadata["tensor_crc32"])
        let computed = crcText(referenceCRC32(Array(bytes[dataStart...])))
        #expect(loadError(bytes)?.description
            == "\(Self.name): tensor CRC mismatch: computed \(computed) but the metadata records \(recorded); the file is damaged")
    }

    @Test func flippedByteInAMetadataValueFailsTheHeaderCRC() throws {
        var bytes = sampleCheckpoint().encoded()
        let header = Array(bytes[8..<8 + headerLength(bytes)])
        let spec = Array(#""3-4:relu-2:softmax""#.utf8)
        let at = try #require((0...header.count - spec.count).first { Array(header[$0..<$0 + spec.count]) == spec })
        bytes[8 + at + 1] = UInt8(ascii: "7")  // "3-4:relu-2:softmax" → "7-4:relu-2:softmax"
        let file = try SafeTensorsFile(bytes: bytes, path: "x")
        #expect(file.metadata["model_spec"] == "7-4:relu-2:softmax")

        // The canonical form, built here independently of the reader.
        var canonical: [UInt8] = []
        func field(_ text: String) { canonical += Array(text.utf8) + [0] }
        for entry in file.tensors {
            field(entry.name)
            field(entry.dtype.rawValue)
            field(entry.shape.map(String.init).joined(separator: ","))
            field("\(entry.dataRange.lowerBound),\(entry.dataRange.upperBound)")
        }
        for key in file.metadata.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        where key != "header_crc32" {
            field(key)
            field(file.metadata[key] ?? "")
        }
        let recorded = try #require(file.metadata["header_crc32"])
        #expect(loadError(bytes)?.description
            == "\(Self.name): header CRC mismatch: computed \(crcText(referenceCRC32(canonical))) but the metadata records \(recorded); the file is damaged")
    }

    @Test func flippedStructuralHeaderByteIsNamed() {
        var bytes = sampleCheckpoint().encoded()
        #expect(bytes[8 + 15] == UInt8(ascii: ":"))
        bytes[8 + 15] = UInt8(ascii: ";")
        #expect(loadError(bytes)?.description
            == "\(Self.name): malformed header: expected ':' after a key but found ';' at header byte 15; \(Self.damaged)")
    }

    @Test func nonUTF8HeaderIsNamed() throws {
        var bytes = sampleCheckpoint().encoded()
        let header = Array(bytes[8..<8 + headerLength(bytes)])
        let key = Array(#""layers.0.bias""#.utf8)
        let at = try #require((0...header.count - key.count).first { Array(header[$0..<$0 + key.count]) == key })
        bytes[8 + at + 3] = 0xFF
        #expect(loadError(bytes)?.description
            == "\(Self.name): header is not valid UTF-8 (string at header byte \(at)); \(Self.damaged)")
    }

    @Test func headerClaimingATrillionBytesIsRefusedWithoutAllocating() {
        var bytes = sampleCheckpoint().encoded()
        for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: 1_000_000_000_000 >> (8 * index)) }
        #expect(loadError(bytes)?.description
            == "\(Self.name): header claims 1000000000000 bytes but the file has \(bytes.count); the file is truncated or not a checkpoint")
        for index in 0..<8 { bytes[index] = 0xFF }
        #expect(loadError(bytes)?.description
            == "\(Self.name): header claims 18446744073709551615 bytes but the file has \(bytes.count); the file is truncated or not a checkpoint")
    }

    @Test func headerOverTheHundredMegabyteCapIsRefused() {
        let claimed = SafeTensors.maximumHeaderBytes + 8
        var bytes = [UInt8](repeating: 0x20, count: 8 + claimed)
        for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: claimed >> (8 * index)) }
        #expect(loadError(bytes)?.description
            == "\(Self.name): header claims 100000008 bytes, more than the 100000000 a safetensors header may have; \(Self.damaged)")
    }

    @Test func headerWithMoreThanAMillionValuesIsRefused() {
        // Values: the root, the metadata, the outer array, then 11 per inner array.
        let json = #"{"__metadata__":{"k":["# + String(repeating: "[0,0,0,0,0,0,0,0,0,0],", count: 100_000) + "0]}}"
        #expect(loadError(fileWithHeader(json))?.description
            == "\(Self.name): malformed header: more than 1000000 JSON values at header byte 2000015; \(Self.damaged)")
    }

    @Test func unknownFormatVersionIsNamed() {
        let bytes = rawSafeTensors(sampleCheckpoint().tensors, metadata: ["format": "dptrain-checkpoint", "format_version": "2"])
        #expect(loadError(bytes)?.description
            == "\(Self.name): unknown checkpoint format version '2' (this dptrain reads version 1); use the dptrain that wrote it")
    }

    @Test func foreignFormatAndMissingKeysAreNamed() {
        let tensors = sampleCheckpoint().tensors
        #expect(loadError(rawSafeTensors(tensors, metadata: ["format": "pytorch"]))?.description
            == "\(Self.name): metadata format is 'pytorch', not 'dptrain-checkpoint'; this is not a dptrain checkpoint")
        #expect(loadError(rawSafeTensors(tensors, metadata: [:]))?.description
            == "\(Self.name): metadata lacks 'format'; the file was not written by dptrain or is damaged")
        let partial = ["format": "dptrain-checkpoint", "format_version": "1", "model_spec": "3-4:relu-2:softmax"]
        #expect(loadError(rawSafeTensors(tensors, metadata: partial))?.description
            == "\(Self.name): metadata lacks 'step'; the file was not written by dptrain or is damaged")
    }

    @Test func wrongModelSpecIsNamed() {
        let bytes = sampleCheckpoint(modelSpec: "784-10:softmax").encoded()
        #expect(loadError(bytes, expecting: "784-256:relu-10:softmax")?.description
            == "\(Self.name): wrong model spec '784-10:softmax' (this run trains '784-256:relu-10:softmax')")
        #expect(loadError(bytes, expecting: "784-10:softmax") == nil)
        #expect(loadError(bytes) == nil)
    }

    @Test func nonIntegerStepIsNamed() {
        var checkpoint = sampleCheckpoint()
        checkpoint.metadata["step"] = "12a"
        #expect(loadError(checkpoint.encoded())?.description
            == "\(Self.name): metadata 'step' is '12a', expected a non-negative integer; the file is damaged")
    }

    @Test func nonFloatTensorIsRefusedInACheckpoint() {
        let entries = SafeTensors.contiguousEntries([("counts", .i64, [2])])
        let data = [UInt8](repeating: 1, count: 16)
        var metadata = ["format": "dptrain-checkpoint", "format_version": "1", "model_spec": "1-1:linear", "step": "0",
                        "tensor_crc32": crcText(referenceCRC32(data))]
        metadata["header_crc32"] = crcText(Checkpoint.headerCRC(entries, metadata))
        let bytes = SafeTensors.encodeHeader(entries, metadata: metadata) + data
        #expect(loadError(bytes)?.description
            == "\(Self.name): tensor 'counts' is I64 but dptrain checkpoints hold F32 tensors; the file is damaged")
    }

    @Test func missingAndUnreadableFilesAreNamed() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: CheckpointError.missingFile(path: directory + "/nope.safetensors")) {
            try Checkpoint.load(from: directory + "/nope.safetensors")
        }
        #expect(throws: CheckpointError.unreadable(path: directory, reason: "it is a directory")) {
            try Checkpoint.load(from: directory)
        }
        #expect(CheckpointError.missingFile(path: "a.safetensors").description == "a.safetensors: no such file; check the path")
    }
}
