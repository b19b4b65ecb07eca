// The run directory: naming, the latest and best pointers, retention, the
// walk to the newest valid checkpoint, atomic replacement that survives
// failures, and the background writer.

import Foundation
import Testing
@testable import Training

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CheckpointDirectoryTests {
    func fileNames(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func text(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test func fileNamesCarryTheStepInEightOrMoreDigits() {
        #expect(CheckpointDirectory.fileName(step: 200) == "ckpt-00000200.safetensors")
        #expect(CheckpointDirectory.fileName(step: 123_456_789) == "ckpt-123456789.safetensors")
        #expect(CheckpointDirectory.step(fromFileName: "ckpt-00000200.safetensors") == 200)
        #expect(CheckpointDirectory.step(fromFileName: "ckpt-123456789.safetensors") == 123_456_789)
        for other in ["ckpt-200.safetensors", "ckpt-00000200.safetensors.tmp", "ckpt-0000020x.safetensors", "latest",
                      "ckpt-99999999999999999999999.safetensors"] {
            #expect(CheckpointDirectory.step(fromFileName: other) == nil, "\(other)")
        }
    }

    @Test func saveWritesTheFileAndTheLatestPointerAndListsNewestFirst() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = CheckpointDirectory(path: root + "/runs/a/")
        #expect(try directory.checkpoints() == [])
        #expect(try directory.newestValid().checkpoint == nil)
        for step in [100, 200, 300] { try directory.save(sampleCheckpoint(step: step), keep: 5) }
        #expect(directory.path == root + "/runs/a")
        #expect(try directory.checkpoints().map(\.step) == [300, 200, 100])
        #expect(try directory.checkpoints().first?.path == root + "/runs/a/ckpt-00000300.safetensors")
        #expect(directory.latest() == "ckpt-00000300.safetensors")
        #expect(try text(root + "/runs/a/latest") == "ckpt-00000300.safetensors\n")
        #expect(try fileNames(root + "/runs/a")
            == ["ckpt-00000100.safetensors", "ckpt-00000200.safetensors", "ckpt-00000300.safetensors", "latest"])
    }

    @Test func retentionKeepsTheLastKPlusTheBest() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = CheckpointDirectory(path: root)
        // Validation loss per save; the best (lowest) is at step 3.
        let losses: [Double] = [0.9, 0.7, 0.4, 0.5, 0.6, 0.45, 0.8]
        for (index, loss) in losses.enumerated() {
            try directory.save(sampleCheckpoint(step: index + 1), keep: 2, metric: loss, goal: .minimize)
        }
        #expect(try directory.checkpoints().map(\.step) == [7, 6, 3])
        #expect(directory.best() == BestCheckpoint(fileName: "ckpt-00000003.safetensors", metric: 0.4, goal: .minimize))
        #expect(try text(root + "/best") == "ckpt-00000003.safetensors 0.4 minimize\n")

        // A better metric moves the best; the old best then falls out of the window.
        try directory.save(sampleCheckpoint(step: 8), keep: 2, metric: 0.1)
        #expect(try directory.checkpoints().map(\.step) == [8, 7])
        #expect(directory.best()?.fileName == "ckpt-00000008.safetensors")

        // Higher is better for accuracy.
        let accuracy = CheckpointDirectory(path: root + "/accuracy")
        for (index, value) in [0.5, 0.9, 0.7, 0.6].enumerated() {
            try accuracy.save(sampleCheckpoint(step: index), keep: 1, metric: value, goal: .maximize)
        }
        #expect(try accuracy.checkpoints().map(\.step) == [3, 1])
        #expect(accuracy.best()?.metric == 0.9)
    }

    @Test func savingAnEarlierStepRemovesTheAbandonedNewerFiles() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = CheckpointDirectory(path: root)
        for step in [10, 20, 30] { try directory.save(sampleCheckpoint(step: step), keep: 3, metric: Double(step)) }
        // The run resumed from step 10 and saves step 15: 20 and 30 belong to the abandoned timeline.
        try directory.save(sampleCheckpoint(step: 15), keep: 3, metric: 99)
        #expect(try directory.checkpoints().map(\.step) == [15, 10])
        #expect(try directory.newestValid().checkpoint?.step == 15)
        #expect(directory.best()?.fileName == "ckpt-00000010.safetensors")
    }

    @Test func newestValidSkipsDamagedFilesAndNamesEachReason() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = CheckpointDirectory(path: root)
        for step in [100, 200, 300, 400, 500, 600] { try directory.save(sampleCheckpoint(step: step), keep: 10) }
        let path = { (step: Int) in directory.filePath(step: step) }

        // 600: truncated. 500: a flipped tensor byte. 400: header claims 10^12 bytes.
        // 300: another model. 200: an unknown format version. 100 is intact.
        let full = try Array(Data(contentsOf: URL(fileURLWithPath: path(600))))
        try Data(full.prefix(full.count - 7)).write(to: URL(fileURLWithPath: path(600)))
        var flipped = try Array(Data(contentsOf: URL(fileURLWithPath: path(500))))
        flipped[flipped.count - 1] ^= 0x80
        try Data(flipped).write(to: URL(fileURLWithPath: path(500)))
        var huge = try Array(Data(contentsOf: URL(fileURLWithPath: path(400))))
        for index in 0..<8 { huge[index] = UInt8(truncatingIfNeeded: 1_000_000_000_000 >> (8 * index)) }
        try Data(huge).write(to: URL(fileURLWithPath: path(400)))
        try sampleCheckpoint(step: 300, modelSpec: "3-7:relu-2:softmax").write(to: path(300))
        try Data(rawSafeTensors([], metadata: ["format": "dptrain-checkpoint", "format_version": "9"]))
            .write(to: URL(fileURLWithPath: path(200)))

        let result = try directory.newestValid(expecting: "3-4:relu-2:softmax")
        #expect(result.checkpoint?.step == 100)
        #expect(result.checkpoint?.path == path(100))
        #expect(result.rejected.map(\.path) == [600, 500, 400, 300, 200].map(path))
        let reasons = result.rejected.map(\.reason)
        #expect(reasons.count == 5)
        guard reasons.count == 5 else { return }
        #expect(reasons[0] == "\(path(600)): tensor 'scale' ends at data byte 108 but the file holds 101 data bytes; the file is truncated")
        #expect(reasons[1].hasPrefix("\(path(500)): tensor CRC mismatch: computed 0x"))
        #expect(reasons[2] == "\(path(400)): header claims 1000000000000 bytes but the file has \(huge.count); the file is truncated or not a checkpoint")
        #expect(reasons[3] == "\(path(300)): wrong model spec '3-7:relu-2:softmax' (this run trains '3-4:relu-2:softmax')")
        #expect(reasons[4] == "\(path(200)): unknown checkpoint format version '9' (this dptrain reads version 1); use the dptrain that wrote it")

        // Nothing valid at all: no checkpoint, every file listed.
        try FileManager.default.removeItem(atPath: path(100))
        let none = try directory.newestValid(expecting: "3-4:relu-2:softmax")
        #expect(none.checkpoint == nil && none.rejected.count == 5)
    }

    // MARK: Atomic replacement under failure

    @Test func failedWriteLeavesTheEarlierFileIntactAndNoTemporary() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = CheckpointDirectory(path: root)
        try directory.save(sampleCheckpoint(step: 100), keep: 3)
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.filePath(step: 100)))

        // The target name is taken by a non-empty directory: the temporary file is written and
        // flushed, then the rename fails.
        try FileManager.default.createDirectory(atPath: directory.filePath(step: 200) + "/x", withIntermediateDirectories: true)
        #expect(throws: CheckpointError.writeFailed(
            path: directory.filePath(step: 200), operation: "rename ckpt-00000200.safetensors.tmp to ckpt-00000200.safetensors",
            reason: "Is a directory")) {
            try directory.save(sampleCheckpoint(step: 200), keep: 3)
        }
        // Overwriting step 100 in place fails too when its temporary name cannot be created.
        try FileManager.default.createDirectory(atPath: directory.filePath(step: 100) + ".tmp/x", withIntermediateDirectories: true)
        #expect(throws: CheckpointError.writeFailed(
            path: directory.filePath(step: 100), operation: "create ckpt-00000100.safetensors.tmp",
            reason: "File exists")) {
            try directory.save(sampleCheckpoint(step: 100, modelSpec: "9-9:linear"), keep: 3)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.filePath(step: 100))) == before)
        #expect(try directory.newestValid().checkpoint?.modelSpec == "3-4:relu-2:softmax")
        #expect(directory.latest() == "ckpt-00000100.safetensors")
        #expect(try fileNames(root) == ["ckpt-00000100.safetensors", "ckpt-00000100.safetensors.tmp",
                                        "ckpt-00000200.safetensors", "latest"])
        #expect(try fileNames(directory.filePath(step: 200)) == ["x"])
    }

    @Test func directoryThatCannotBeCreatedIsATypedError() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Data("not a directory".utf8).write(to: URL(fileURLWithPath: root + "/file"))
        let directory = CheckpointDirectory(path: root + "/file/run")
        #expect(throws: CheckpointError.unusableDirectory(path: root + "/file/run", reason: "mkdir \(root)/file/run: Not a directory")) {
            try directory.save(sampleCheckpoint(), keep: 1)
        }
        #expect(throws: CheckpointError.writeFailed(
            path: root + "/file/ckpt.safetensors", operation: "create ckpt.safetensors.tmp", reason: "Not a directory")) {
            try sampleCheckpoint().write(to: root + "/file/ckpt.safetensors")
        }
        #expect(try text(root + "/file") == "not a directory")
    }

    @Test(.enabled(if: getuid() != 0, "root writes into read-only directories"))
    func readOnlyDirectoryLeavesTheEarlierFileIntact() throws {
        let root = try checkpointTemporaryDirectory()
        defer {
            chmod(root, 0o755)
            try? FileManager.default.removeItem(atPath: root)
        }
        let directory = CheckpointDirectory(path: root)
        try directory.save(sampleCheckpoint(step: 100), keep: 1)
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.filePath(step: 100)))
        chmod(root, 0o555)
        #expect(throws: CheckpointError.writeFailed(
            path: directory.filePath(step: 200), operation: "create ckpt-00000200.safetensors.tmp", reason: "Permission denied")) {
            try directory.save(sampleCheckpoint(step: 200), keep: 1)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.filePath(step: 100))) == before)
        #expect(try fileNames(root) == ["ckpt-00000100.safetensors", "latest"])
    }

    @Test func writeErrorsCarryTheSystemReason() throws {
        // /dev/full fails every write with ENOSPC, like a full disk.
        let descriptor = open("/dev/full", O_WRONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let sink = FileSink(descriptor: descriptor, path: "run/ckpt-00000001.safetensors", temporaryName: "ckpt-00000001.safetensors.tmp")
        #expect(throws: CheckpointError.writeFailed(
            path: "run/ckpt-00000001.safetensors", operation: "write ckpt-00000001.safetensors.tmp",
            reason: "No space left on device")) {
            try sink.append(contentsOf: [UInt8](repeating: 1, count: 4096))
        }
        #expect(CheckpointError.writeFailed(path: "run/ckpt-00000001.safetensors", operation: "write ckpt-00000001.safetensors.tmp",
                                            reason: "No space left on device").description
            == "run/ckpt-00000001.safetensors: cannot write ckpt-00000001.safetensors.tmp (No space left on device); earlier checkpoints are untouched, free disk space or fix the run directory")
    }

    @Test func staleTemporaryFilesAreReplacedAndPruned() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = CheckpointDirectory(path: root)
        // What a crash mid-write leaves behind.
        for name in ["ckpt-00000100.safetensors.tmp", "ckpt-00000050.safetensors.tmp", "latest.tmp", "notes.tmp"] {
            try Data("partial".utf8).write(to: URL(fileURLWithPath: root + "/" + name))
        }
        try directory.save(sampleCheckpoint(step: 100), keep: 1)
        #expect(try fileNames(root) == ["ckpt-00000100.safetensors", "latest", "notes.tmp"])
        #expect(try directory.newestValid().checkpoint?.step == 100)
    }

    // MARK: Background writer

    @Test func asyncWriterSavesInOrderAndReportsTheLastError() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = CheckpointDirectory(path: root + "/run")
        let writer = AsyncCheckpointWriter(directory: directory, keep: 2)
        for step in 1...5 { writer.submit(sampleCheckpoint(step: step), metric: Double(10 - step)) }
        try writer.waitForPending()
        #expect(writer.savedCount == 5)
        #expect(writer.lastSavedPath == directory.filePath(step: 5))
        #expect(try directory.checkpoints().map(\.step) == [5, 4])
        #expect(directory.latest() == "ckpt-00000005.safetensors")

        // A failure is reported by waitForPending and lastError; earlier files survive.
        try FileManager.default.createDirectory(atPath: directory.filePath(step: 6) + "/x", withIntermediateDirectories: true)
        writer.submit(sampleCheckpoint(step: 6))
        #expect(throws: CheckpointError.self) { try writer.waitForPending() }
        #expect(writer.lastError?.description.hasPrefix(directory.filePath(step: 6) + ": cannot rename") == true)
        #expect(writer.savedCount == 5)
        #expect(try directory.newestValid().checkpoint?.step == 5)

        // The next successful save clears it.
        writer.submit(sampleCheckpoint(step: 7))
        try writer.waitForPending()
        #expect(writer.lastError == nil && writer.savedCount == 6)
    }
}
