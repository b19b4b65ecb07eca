// Tests of the metrics files: CRC-32C against published check values,
// TensorBoard event files read back by TensorBoard's own EventAccumulator,
// and metrics.jsonl / metrics.csv read back by Python's json and csv modules.

import Foundation
import Testing
import Training

@Suite struct MetricsTests {
    @Test(arguments: [
        ("", UInt32(0)),
        ("a", 0xC1D0_4330),
        ("123456789", 0xE306_9283),
        ("The quick brown fox jumps over the lazy dog", 0x2262_0404),
    ])
    func crc32cMatchesKnownValues(text: String, expected: UInt32) {
        #expect(CRC32C.checksum(Array(text.utf8)) == expected)
    }

    @Test func crc32cOfThirtyTwoZeroBytesMatchesRFC3720() {
        // RFC 3720 appendix B.4: 32 bytes of zeros → 0x8A9136AA; 32 bytes of 0xFF → 0x62A8AB43.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    }

    @Test func maskRotatesAndAddsTheTFRecordConstant() {
        #expect(CRC32C.masked(0) == 0xA282_EAD8)
        #expect(CRC32C.masked(0x0000_8000) == 0xA282_EAD9)
        #expect(CRC32C.masked(1) == 0xA284_EAD8)
    }

    @Test func tensorBoardReadsOurScalars() throws {
        let directory = try ScratchDirectory()
        let writer = try TensorBoardWriter(directory: directory.path + "/tb", flushInterval: 3600)
        #expect(writer.path.hasPrefix(directory.path + "/tb/events.out.tfevents."))
        let losses: [Double] = [2.5, 1.25, 0.625, 0.3125, 0.15625]
        for (index, loss) in losses.enumerated() {
            try writer.addScalar(tag: "train/loss", value: loss, step: 10 * index)
        }
        try writer.addScalars([("val/accuracy", 0.5), ("val/loss", 0.75)], step: 40)
        try writer.addScalar(tag: "train/lr", value: 0.001, step: 1 << 40)
        try writer.close()

        let script = """
            import sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            ea = EventAccumulator(sys.argv[1])
            ea.Reload()
            print(" ".join(sorted(ea.Tags()["scalars"])))
            for tag in sorted(ea.Tags()["scalars"]):
                for event in ea.Scalars(tag):
                    print(tag, event.step, repr(event.value))
            """
        let result = try Python.run(script, arguments: [directory.path + "/tb"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "train/loss train/lr val/accuracy val/loss")
        let expected = losses.enumerated().map { "train/loss \(10 * $0.offset) \($0.element)" }
            + ["train/lr \(1 << 40) \(Double(Float(0.001)))", "val/accuracy 40 0.5", "val/loss 40 0.75"]
        #expect(Array(lines.dropFirst()) == expected)
    }

    @Test func eventFileStartsWithTheFileVersionRecord() throws {
        let directory = try ScratchDirectory()
        let writer = try TensorBoardWriter(directory: directory.path)
        try writer.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: writer.path)))
        // Event { wall_time (field 1, fixed64), file_version (field 3) = "brain.Event:2" }
        let data = Array(bytes[12..<(bytes.count - 4)])
        #expect(bytes.count == 8 + 4 + 9 + 15 + 4)
        #expect(bytes[0..<8] == [UInt8(data.count), 0, 0, 0, 0, 0, 0, 0])
        #expect(data[0] == 0x09)
        #expect(Array(data[9...]) == [0x1A, 13] + Array("brain.Event:2".utf8))
        let storedCRC = bytes.suffix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(storedCRC == CRC32C.maskedChecksum(data))
    }

    @Test func twoWritersInOneDirectoryGetTwoFiles() throws {
        let directory = try ScratchDirectory()
        let first = try TensorBoardWriter(directory: directory.path)
        let second = try TensorBoardWriter(directory: directory.path)
        #expect(first.path != second.path)
    }

    @Test func unwritableDirectoryIsATypedError() throws {
        let directory = try ScratchDirectory()
        let blocker = directory.path + "/file"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        #expect(throws: MetricsError.cannotCreateDirectory(path: blocker + "/tb", reason: "Not a directory")) {
            try TensorBoardWriter(directory: blocker + "/tb")
        }
        #expect(
            MetricsError.cannotCreateDirectory(path: "/r/tb", reason: "Not a directory").description
                == "/r/tb: cannot create the directory (Not a directory); choose a writable run directory")
    }
}
