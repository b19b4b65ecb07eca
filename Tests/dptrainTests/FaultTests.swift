// No failure loses work or changes the result (issue 5), end to end on the
// release binary: a rank killed at a random step, SIGTERM, a resume at another
// world size, damaged checkpoints, a stopped rank, the inspect tool and the
// restart wrapper. Each interrupted run is compared with the SHA-256 of the
// same run left alone. `--step-delay` (hidden; it changes no result) slows the
// runs down so that a test can act while they train.

import Foundation
import Testing

@Suite(.serialized, .timeLimit(.minutes(10)))
struct FaultTests {
    /// 2 epochs of 20 steps: batch 128, micro-batch 32 (any world size 1, 2, 4).
    static let run = [
        "train", "--train-limit", "2560", "--test-limit", "500", "--epochs", "2", "--batch-size", "128",
        "--micro-batch", "32", "--no-gemm-limit", "--threads", "1",
    ]
    static let slow = ["--step-delay", "0.05"]

    /// The fingerprint of `arguments` run without interruption.
    func uninterrupted(_ arguments: [String] = run, ranks: Int? = nil) throws -> String {
        let result = try Binary.run(arguments, ranks: ranks, timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(result.fingerprint)
    }

    @Test func killingOneRankAtRandomStepsAndResumingGivesTheUninterruptedWeights() throws {
        let reference = try uninterrupted(ranks: 2)
        for _ in 0..<3 {
            let step = Int.random(in: 2...34)
            let directory = try temporaryDirectory().path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let job = try BackgroundJob.dptrain(
                Self.run + ["--run-dir", directory, "--checkpoint-every", "2"] + Self.slow, ranks: 2)
            let seen = job.waitForCheckpoint(in: directory, atLeast: step)
            let victim = Int.random(in: 0...1)
            if let pid = job.pid(ofRank: victim) { kill(pid, SIGKILL) }
            let killed = job.wait(timeout: 60)
            #expect(killed.status != 0, "rank \(victim) killed after checkpoint \(seen ?? -1)")
            #expect(RunDirectory.completed(directory) == nil)

            let resumed = try Binary.run(Self.run + ["--run-dir", directory], ranks: 2, timeout: 120)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(resumed.stdout.contains("dptrain: resuming from \(directory)/ckpt-"))
            #expect(resumed.fingerprint == reference, "rank \(victim) killed after checkpoint \(seen ?? -1)")
            #expect(RunDirectory.completed(directory) == "step 40 sha256 \(reference)\n")
        }
    }

    /// Interrupts a run of `arguments` on `ranks` ranks with SIGTERM to rank `victim` once a
    /// checkpoint of step ≥ `after` exists; returns the result and the preemption checkpoint's step.
    func preempt(_ arguments: [String], ranks: Int, victim: Int, after step: Int, directory: String) throws -> (RunResult, Int) {
        let job = try BackgroundJob.dptrain(
            arguments + ["--run-dir", directory, "--checkpoint-every", "3"] + Self.slow, ranks: ranks)
        _ = job.waitForCheckpoint(in: directory, atLeast: step)
        if let pid = job.pid(ofRank: victim) { kill(pid, SIGTERM) }
        let result = job.wait(timeout: 60)
        return (result, RunDirectory.checkpointSteps(directory).first ?? -1)
    }

    @Test func sigtermOnOneRankMidEpochStopsEveryRankWith75AndTheResumeMatches() throws {
        let reference = try uninterrupted(ranks: 2)
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (result, saved) = try preempt(Self.run, ranks: 2, victim: 1, after: Int.random(in: 3...12), directory: directory)
        #expect(result.status == 75, "\(result.stderr)")
        #expect((4..<20).contains(saved), "the preemption checkpoint is mid-epoch 1")
        let file = RunDirectory.checkpoint(directory, step: saved)
        #expect(result.stderr.contains(
            "dptrain: stopped by SIGTERM after step \(saved) (epoch 1, step \(saved) of 20); saved \(file); resume with --resume auto\n"))
        #expect(RunDirectory.completed(directory) == nil)

        let resumed = try Binary.run(Self.run + ["--run-dir", directory], ranks: 2, timeout: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains(
            "dptrain: resuming from \(file) (step \(saved), epoch 1 after \(saved) of its steps; saved by 2 ranks with micro-batch 32)\n"))
        #expect(resumed.fingerprint == reference)
    }

    @Test func aSecondSignalExitsAtOnceAndLeavesTheCheckpointsIntact() throws {
        let reference = try uninterrupted()
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A long pause after each step: both signals arrive before the next step boundary.
        let job = try BackgroundJob.dptrain(
            Self.run + ["--run-dir", directory, "--checkpoint-every", "2", "--step-delay", "1"])
        let seen = job.waitForCheckpoint(in: directory, atLeast: 2)
        // Two different signals: two of the same kind may merge into one while pending.
        kill(job.pid, SIGTERM)
        kill(job.pid, SIGINT)
        let result = job.wait(timeout: 30)
        #expect(result.status == 75)
        #expect(result.stderr == "dptrain: second signal: exiting at once; the checkpoints on disk are intact\n")
        #expect(RunDirectory.checkpointSteps(directory).first == seen, "no preemption checkpoint was started")

        let resumed = try Binary.run(Self.run + ["--run-dir", directory], timeout: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.fingerprint == reference)
    }

    @Test func aTwoRankCheckpointResumesAtOneAndAtFourRanksWithTheSameWeights() throws {
        let reference = try uninterrupted(ranks: 2)
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (result, saved) = try preempt(Self.run, ranks: 2, victim: 0, after: Int.random(in: 3...30), directory: directory)
        #expect(result.status == 75, "\(result.stderr)")
        for ranks in [1, 4] {
            let copy = try RunDirectory.copy(directory)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            let resumed = try Binary.run(Self.run + ["--run-dir", copy], ranks: ranks, timeout: 180)
            #expect(resumed.status == 0, "\(ranks) ranks: \(resumed.stderr)")
            #expect(resumed.stdout.contains("dptrain: resuming from \(RunDirectory.checkpoint(copy, step: saved)) "))
            #expect(resumed.fingerprint == reference, "resumed at \(ranks) ranks from step \(saved)")
        }
    }

    @Test func aFourRankRunWithTheDefaultMicroBatchResumesAtOneRankWithItsRecordedMicroBatch() throws {
        let run = Self.run.replacing(["--micro-batch", "32"], with: [])  // m = B/P at the first launch
        let reference = try uninterrupted(run, ranks: 4)
        let single = try uninterrupted(run)
        #expect(single != reference, "at one rank the default micro-batch is 128, a different run")
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (result, saved) = try preempt(run, ranks: 4, victim: 2, after: Int.random(in: 3...24), directory: directory)
        #expect(result.status == 75, "\(result.stderr)")

        let resumed = try Binary.run(run + ["--run-dir", directory], timeout: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("batch 128 (micro-batch 32 × 4), 1 rank × 1 thread"))
        #expect(resumed.stdout.contains("(step \(saved), "))
        #expect(resumed.stdout.contains("saved by 4 ranks with micro-batch 32)"))
        #expect(resumed.fingerprint == reference)
    }

    enum Damage: String, CaseIterable, Sendable {
        case truncated, flippedByte, hugeHeader
    }

    /// A finished 1-epoch run with checkpoints at steps 10, 15 and 20.
    func oneEpochRunDirectory() throws -> String {
        let directory = try temporaryDirectory().path
        let oneEpoch = Self.run.replacing(["--epochs", "2"], with: ["--epochs", "1"])
        let result = try Binary.run(oneEpoch + ["--run-dir", directory, "--checkpoint-every", "5"], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(RunDirectory.checkpointSteps(directory) == [20, 15, 10])
        return directory
    }

    /// Damages the file at `path`; returns the reason dptrain must give.
    func damage(_ path: String, _ kind: Damage) throws -> String {
        var file = try CheckpointBytes(path: path)
        let size = file.bytes.count
        let data = file.dataBytes
        switch kind {
        case .truncated:
            file.bytes.removeLast(100)
            try file.write(to: path)
            return "\(path): tensor 'optimizer.exp_avg_sq.layers.2.bias' ends at data byte \(data) "
                + "but the file holds \(data - 100) data bytes; the file is truncated"
        case .flippedByte:
            let recorded = try #require(file.metadata["tensor_crc32"])
            file.bytes[size - data / 2] ^= 0x10
            try file.write(to: path)
            return "\(path): tensor CRC mismatch: computed \(file.tensorCRC) but the metadata records \(recorded); "
                + "the file is damaged"
        case .hugeHeader:
            for index in 0..<8 { file.bytes[index] = UInt8(truncatingIfNeeded: 1_000_000_000_000 >> (8 * index)) }
            try file.write(to: path)
            return "\(path): header claims 1000000000000 bytes but the file has \(size); the file is truncated or not a checkpoint"
        }
    }

    @Test(arguments: Damage.allCases)
    func aDamagedNewestCheckpointIsSkippedWithItsReasonAndThePreviousOneIsUsed(damage kind: Damage) throws {
        let reference = try uninterrupted()
        let directory = try oneEpochRunDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let newest = RunDirectory.checkpoint(directory, step: 20)
        let reason = try damage(newest, kind)

        let resumed = try Binary.run(Self.run + ["--run-dir", directory], timeout: 120)  // --epochs 2 extends the run
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr == "dptrain: skipping \(reason)\n")
        #expect(resumed.stdout.contains(
            "dptrain: resuming from \(RunDirectory.checkpoint(directory, step: 15)) (step 15, epoch 1 after 15 of its steps; "
                + "saved by 1 rank with micro-batch 32)\n"))
        #expect(resumed.fingerprint == reference)
    }

    @Test func aRunDirectoryWhoseCheckpointsAllFailIsRefused() throws {
        let directory = try oneEpochRunDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var reasons: [String] = []
        for (step, kind) in zip([20, 15, 10], Damage.allCases) {
            reasons.append(try damage(RunDirectory.checkpoint(directory, step: step), kind))
        }
        let result = try Binary.run(Self.run + ["--run-dir", directory], timeout: 120)
        #expect(result.status == 65)
        #expect(result.stderr == reasons.map { "dptrain: skipping \($0)\n" }.joined()
            + "dptrain: error: \(directory): none of its 3 checkpoints validates (reasons above); "
            + "move the damaged files away, or choose another --run-dir\n")
        #expect(RunDirectory.checkpointSteps(directory) == [20, 15, 10], "nothing was removed")
    }

    @Test func resumingWithAnotherResultChangingOptionIsRefusedNamingIt() throws {
        let directory = try oneEpochRunDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let newest = RunDirectory.checkpoint(directory, step: 20)
        let cases: [([String], Int32, String)] = [
            (["--lr", "0.01"], 64, "\(newest) was saved with --lr 0.001, but this run has 0.01; resume with the same value, or use another --run-dir"),
            (["--micro-batch", "64"], 64, "\(newest) was saved with --micro-batch 32, but this run has 64; resume with the same value, or use another --run-dir"),
            (["--seed", "2"], 64, "\(newest) was saved with --seed 1, but this run has 2; resume with the same value, or use another --run-dir"),
            (["--train-limit", "1280"], 64, "\(newest) was saved with the training data 'fashion-mnist/train 2560x784', but this run has 'fashion-mnist/train 1280x784'; resume with the same --dataset and --train-limit, or use another --run-dir"),
            (["--resume", "never"], 64, "--resume never: the run directory \(directory) already holds checkpoints (newest ckpt-00000020.safetensors); resume with --resume auto, or choose another --run-dir"),
            (["--resume", directory + "/nothing.safetensors"], 66, "--resume \(directory)/nothing.safetensors: no such file; check the path"),
        ]
        for (extra, status, message) in cases {
            let result = try Binary.run(Self.run + ["--run-dir", directory] + extra, timeout: 120)
            #expect(result.status == status, "\(extra)")
            #expect(result.stderr == "dptrain: error: \(message)\n", "\(extra)")
        }
        // Extending the run (--epochs) is allowed; --resume FILE takes that file.
        let older = RunDirectory.checkpoint(directory, step: 15)
        let result = try Binary.run(Self.run + ["--run-dir", directory, "--resume", older], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("dptrain: resuming from \(older) (step 15, "))
        #expect(result.fingerprint == (try uninterrupted()))
    }

    @Test func aStoppedRankIsEndedByTheWatchdogWithinTheStepTimeoutPlusFiveSeconds() throws {
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let job = try BackgroundJob.dptrain(
            Self.run + ["--run-dir", directory, "--checkpoint-every", "2", "--step-timeout", "2"] + Self.slow, ranks: 2)
        defer { job.killTree() }
        _ = job.waitForCheckpoint(in: directory, atLeast: 4)
        let victim = try #require(job.pid(ofRank: 1))
        kill(victim, SIGSTOP)
        defer { if ProcessTree.isStopped(victim) { kill(victim, SIGKILL) } }  // if the abort missed it
        let result = job.wait(timeout: 2 + 5)  // the bound the issue sets
        #expect(result.status == 70)
        #expect(result.stderr.contains("dptrain: error: rank 0 stalled in step "))
        #expect(result.stderr.contains(" for more than 2.0 s; aborting the job\n"))
    }

    @Test func inspectShowsAGoodCheckpointAndNamesTheDamageOfABadOne() throws {
        let directory = try oneEpochRunDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = RunDirectory.checkpoint(directory, step: 20)
        let shown = try Binary.run(["inspect", good])
        #expect(shown.status == 0, "\(shown.stderr)")
        let crc = try #require(try CheckpointBytes(path: good).metadata["tensor_crc32"])
        let lines = shown.stdout.split(separator: "\n").map { $0.split(separator: " ") }
        for line in [
            good, "  format        dptrain-checkpoint, version 1", "  model spec    784-256:relu-128:relu-10:softmax",
            "  step          20", "  epoch         1", "    batch                    0", "    micro_batch              32",
            "    world_size               1", "    optimizer_state          exp_avg,exp_avg_sq",
            "    optimizer_step_count     20", "    training_data            fashion-mnist/train 2560x784",
            "layers.0.weight F32 [784, 256] 200704", "optimizer.exp_avg_sq.layers.2.bias F32 [10] 10",
        ] {
            #expect(lines.contains(line.split(separator: " ")), "\(line)")
        }
        #expect(shown.stdout.contains("  validates     yes (tensor_crc32 \(crc), header_crc32 0x"))

        let bad = RunDirectory.checkpoint(directory, step: 15)
        let reason = try damage(bad, .flippedByte)
        let refused = try Binary.run(["inspect", bad])
        #expect(refused.status == 65)
        #expect(refused.stdout.contains("  validates     no\n"))
        #expect(refused.stderr == "dptrain: error: \(reason)\n")

        let missing = try Binary.run(["inspect", directory + "/ckpt-00000099.safetensors"])
        #expect(missing.status == 66)
        #expect(missing.stderr == "dptrain: error: \(directory)/ckpt-00000099.safetensors: no such file; check the path\n")
    }

    @Test func theRestartWrapperRelaunchesAKilledJobUntilItCompletes() throws {
        let reference = try uninterrupted(ranks: 2)
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let job = try BackgroundJob.script(
            "cluster/restart.sh",
            ["--attempts", "3", "--backoff", "0", "--", "mpiexec", "-n", "2", Binary.release.path]
                + Self.run + ["--run-dir", directory, "--checkpoint-every", "2"] + Self.slow)
        defer { job.killTree() }
        _ = job.waitForCheckpoint(in: directory, atLeast: Int.random(in: 2...30))
        if let pid = job.pid(ofRank: 1) { kill(pid, SIGKILL) }
        let result = job.wait(timeout: 180)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains(" without completing; relaunch 1 of 3 with --resume auto in 0 s\n"))
        #expect(result.stderr.hasSuffix("restart.sh: the job completed after 1 relaunch\n"))
        #expect(result.stdout.contains("dptrain: resuming from \(directory)/ckpt-"))
        #expect(result.fingerprint == reference)
        #expect(RunDirectory.completed(directory) == "step 40 sha256 \(reference)\n")
    }

    @Test func theRestartWrapperDoesNotRelaunchAJobThatCannotSucceed() throws {
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try Binary.runScript(
            "cluster/restart.sh",
            ["--backoff", "0", "--", Binary.release.path] + Self.run + ["--run-dir", directory, "--lr", "0"], timeout: 60)
        #expect(result.status == 64)
        #expect(result.stderr == "dptrain: error: --lr must be a positive number, got 0.0\n"
            + "restart.sh: the job exited with code 64, which a relaunch would repeat; not relaunching\n")

        let bare = try Binary.runScript("cluster/restart.sh", ["--", Binary.release.path] + Self.run, timeout: 60)
        #expect(bare.status == 64)
        #expect(bare.stderr == "restart.sh: the command must pass --run-dir DIR (its 'completed' marker ends the job)\n")
    }
}

/// The NaN/Inf guard: one training row whose feature overflows every product it enters.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct NonFiniteGuardTests {
    /// 64 rows y = x1 − x2; row 37 has x1 = 3e38, so with weights 0.5 its prediction and loss overflow.
    static func dataFiles() throws -> (train: String, test: String, directory: URL) {
        let directory = try temporaryDirectory()
        var train = "x1,x2,label\n"
        var test = "x1,x2,label\n"
        for row in 0..<64 {
            let x1 = Double(row % 8) / 8
            let x2 = Double(row / 8) / 8
            train += (row == 37 ? "3e38" : "\(x1)") + ",\(x2),\(x1 - x2 + 0.25)\n"
            test += "\(x1),\(x2),\(x1 - x2 + 0.25)\n"
        }
        let trainFile = directory.appendingPathComponent("train.csv")
        let testFile = directory.appendingPathComponent("test.csv")
        try Data(train.utf8).write(to: trainFile)
        try Data(test.utf8).write(to: testFile)
        return (trainFile.path, testFile.path, directory)
    }

    static func arguments(_ files: (train: String, test: String, directory: URL)) -> [String] {
        [
            "train", "--dataset", files.train, "--test-data", files.test, "--model", "2-1:linear", "--init", "constant(0.5)",
            "--optimizer", "sgd", "--lr", "0.01", "--batch-size", "8", "--micro-batch", "4", "--epochs", "3", "--no-gemm-limit",
            "--threads", "1",
        ]
    }

    @Test func nanStopEndsEveryRankWithCode76BeforeTheUpdate() throws {
        let files = try Self.dataFiles()
        defer { try? FileManager.default.removeItem(at: files.directory) }
        let result = try Binary.run(Self.arguments(files) + ["--nan", "stop"], ranks: 2, timeout: 120)
        #expect(result.status == 76)
        let line = try #require(result.stderr.split(separator: "\n").first.map(String.init))
        #expect(line.hasPrefix("dptrain: error: step "))
        #expect(line.contains(" (epoch 1): the loss is NaN or Inf on rank "))
        #expect(line.hasSuffix(
            "; stopped before the update (--nan stop), the last checkpoint is intact; lower --lr, check the data, or pass --nan skip"))
        #expect(result.fingerprint == nil)
    }

    @Test func nanSkipSkipsTheBadStepOfEveryEpochAndCountsIt() throws {
        let files = try Self.dataFiles()
        defer { try? FileManager.default.removeItem(at: files.directory) }
        let directory = try temporaryDirectory().path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let skip = Self.arguments(files) + ["--nan", "skip", "--run-dir", directory]
        let two = try Binary.run(skip, ranks: 2, timeout: 120)
        #expect(two.status == 0, "\(two.stderr)")
        let epochs = two.stdout.split(separator: "\n").filter { $0.contains(" epoch ") || $0.hasPrefix("epoch ") }
        #expect(epochs.count == 3)
        #expect(epochs.allSatisfy { $0.contains("  skipped 1 step with NaN/Inf  at ") }, "\(epochs)")
        #expect(!two.stdout.contains("nan") && !two.stdout.contains("inf"), "the model stays finite")
        // The same skips on one rank: the same weights.
        let one = try Binary.run(Self.arguments(files) + ["--nan", "skip"], timeout: 120)
        #expect(one.fingerprint != nil && one.fingerprint == two.fingerprint)
    }
}

extension Array where Element == String {
    /// The arguments with the first run of `old` replaced by `new`.
    func replacing(_ old: [String], with new: [String]) -> [String] {
        guard let start = indices.first(where: { Array(self[$0..<Swift.min($0 + old.count, count)]) == old }) else {
            Issue.record("\(old) is not in \(self)")
            return self
        }
        return Array(self[..<start]) + new + Array(self[(start + old.count)...])
    }
}
