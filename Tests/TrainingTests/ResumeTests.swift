// Checkpoints written by the trainer and exact resume, without MPI: ranks are
// threads (InProcessCommunicatorGroup). A run stopped after step S through the
// preemption path and resumed in a fresh trainer — at the same or another
// world size — ends with the uninterrupted run's weights, bit for bit; a
// refused resume names the field; providers get their state back; the ranks
// agree on a stop raised on one of them; the NaN/Inf guard skips or stops.

import Collective
import Datasets
import Engine
import Foundation
import Layers
import Optimizers
import Testing
@testable import Training

/// A trainer on `communicator` over the synthetic data (or `data`).
func makeTrainer(
    _ config: TrainingConfig, communicator: any Communicator = SingleProcessCommunicator(), data: Dataset? = nil
) throws -> Trainer {
    let rows = data ?? syntheticDataset()
    return try Trainer(
        config: config, train: rows, test: syntheticDataset(), communicator: communicator,
        pool: ThreadPool(threadCount: 1))
}

/// Runs `trainer` to the end, or to its stop; returns the fingerprint and whether it was preempted.
func runToStop(_ trainer: Trainer) throws -> (fingerprint: String, preempted: Bool) {
    do throws(TrainingError) {
        return (try trainer.run().fingerprint, false)
    } catch {
        guard case .preempted = error else { throw error }
        return (trainer.fingerprint(), true)
    }
}

/// Trains on `ranks` in-process ranks; rank 0's (fingerprint, preempted), after checking all ranks agree.
func runOnRanks(
    _ ranks: Int, _ config: TrainingConfig, options: @escaping @Sendable () -> FaultOptions,
    resume: Checkpoint? = nil
) throws -> (fingerprint: String, preempted: Bool) {
    let outcomes = InProcessCommunicatorGroup(size: ranks).run { communicator in
        let trainer = try makeTrainer(config, communicator: communicator)
        if let resume { try trainer.restore(from: resume) }
        try trainer.configureFaultTolerance(options())
        let outcome = try runToStop(trainer)
        return "\(outcome.fingerprint) \(outcome.preempted)"
    }
    let texts = try outcomes.map { try $0.get() }
    #expect(Set(texts).count == 1, "every rank ends alike: \(texts)")
    let fields = texts[0].split(separator: " ")
    return (String(fields[0]), fields[1] == "true")
}

@Suite struct ResumeTests {
    static let optimizers: [OptimizerConfig] = [
        .adam(), .adam(amsgrad: true), .adamW(), .sgd(), .sgd(momentum: 0.9, nesterov: true),
        .rmsprop(momentum: 0.5), .adagrad(initialAccumulator: 0.1),
    ]

    @Test(arguments: optimizers)
    func aRunStoppedAndResumedEndsWithTheUninterruptedWeights(optimizer: OptimizerConfig) throws {
        let config = try smallConfig(optimizer: optimizer)  // 2 epochs of 6 steps
        let straight = try makeTrainer(config).run().fingerprint as String
        for stop in [1, 4, 6, 9] {
            let directory = try checkpointTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let first = try makeTrainer(config)
            try first.configureFaultTolerance(
                FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory), preemption: PreemptionFlag(stopAfterStep: stop)))
            #expect(try runToStop(first).preempted)
            let checkpoint = try #require(try Resume.decide(mode: .auto, runDirectory: directory).checkpoint)
            #expect(checkpoint.step == stop)

            let second = try makeTrainer(config)
            try second.restore(from: checkpoint)
            #expect(try second.run().fingerprint == straight, "\(optimizer) stopped after step \(stop)")
        }
    }

    @Test(arguments: [(2, 1), (2, 4), (1, 2), (4, 1)])
    func aCheckpointResumesAtAnotherWorldSize(saved: Int, resumed: Int) throws {
        let config = try smallConfig()  // micro-batch 4: G = 4
        let straight = try makeTrainer(config).run().fingerprint
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plan = CheckpointPlan(runDirectory: directory)
        let first = try runOnRanks(saved, config) { FaultOptions(checkpoints: plan, preemption: PreemptionFlag(stopAfterStep: 5)) }
        #expect(first.preempted)
        let checkpoint = try #require(try Resume.decide(mode: .auto, runDirectory: directory).checkpoint)
        #expect(checkpoint.metadata["world_size"] == String(saved))
        let second = try runOnRanks(resumed, config, options: { FaultOptions(checkpoints: plan) }, resume: checkpoint)
        #expect(!second.preempted)
        #expect(second.fingerprint == straight)
    }

    @Test func aStopRaisedOnOneRankStopsEveryRankAtTheSameStep() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try smallConfig()
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            let trainer = try makeTrainer(config, communicator: communicator)
            // Only rank 2 is asked to stop, as when SIGTERM reaches one process.
            let flag = PreemptionFlag(stopAfterStep: communicator.rank == 2 ? 3 : nil)
            try trainer.configureFaultTolerance(
                FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory), preemption: flag))
            do throws(TrainingError) {
                _ = try trainer.run()
                return "finished"
            } catch {
                return "\(error) at \(trainer.stepsTaken)"
            }
        }
        let expected = "stopped by the scheduled stop after step 3 (epoch 1, step 3 of 6); "
        for (rank, outcome) in outcomes.enumerated() {
            let text = try outcome.get()
            #expect(text.hasPrefix(expected), "rank \(rank): \(text)")
            #expect(text.hasSuffix(" at 3"), "rank \(rank): \(text)")
        }
        #expect(try outcomes[0].get() == expected + "saved \(directory)/ckpt-00000003.safetensors; resume with --resume auto at 3")
        #expect(try CheckpointDirectory(path: directory).checkpoints().map(\.step) == [3])
    }

    @Test func theCheckpointHoldsTheParametersByNameTheOptimizerStateAndThePosition() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try smallConfig()
        let trainer = try makeTrainer(config)
        try trainer.configureFaultTolerance(FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory, every: 4, keep: 10)))
        _ = try trainer.run()
        // Every 4 steps, except the epoch's last step (6, 12), which the epoch-end save covers.
        #expect(try CheckpointDirectory(path: directory).checkpoints().map(\.step) == [12, 8, 6, 4])
        let checkpoint = try Checkpoint.load(from: directory + "/ckpt-00000008.safetensors")
        #expect(checkpoint.tensors.map(\.name) == [
            "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias",
            "optimizer.exp_avg.layers.0.weight", "optimizer.exp_avg.layers.0.bias", "optimizer.exp_avg.layers.1.weight",
            "optimizer.exp_avg.layers.1.bias", "optimizer.exp_avg.layers.2.weight", "optimizer.exp_avg.layers.2.bias",
            "optimizer.exp_avg_sq.layers.0.weight", "optimizer.exp_avg_sq.layers.0.bias",
            "optimizer.exp_avg_sq.layers.1.weight", "optimizer.exp_avg_sq.layers.1.bias",
            "optimizer.exp_avg_sq.layers.2.weight", "optimizer.exp_avg_sq.layers.2.bias",
        ])
        #expect(checkpoint.tensor(named: "layers.0.weight")?.shape == [6, 8])
        let metadata = checkpoint.metadata
        #expect(metadata["step"] == "8")
        #expect(metadata["epoch"] == "1")
        #expect(metadata["batch"] == "2")
        #expect(metadata["seed"] == "3")
        #expect(metadata["world_size"] == "1")
        #expect(metadata["micro_batch"] == "4")
        #expect(metadata["global_batch"] == "16")
        #expect(metadata["optimizer_step_count"] == "8")
        #expect(metadata["optimizer_state"] == "exp_avg,exp_avg_sq")
        #expect(metadata["training_data"] == "synthetic 96x6")
        #expect(metadata["nan_skipped_steps"] == "0")
        #expect(metadata["config"] == trainer.configJSON())
        #expect(metadata["test_loss"] == nil, "only epoch-end checkpoints carry metrics")
        let end = try Checkpoint.load(from: directory + "/ckpt-00000012.safetensors")
        #expect(end.metadata["epoch"] == "2")
        #expect(end.metadata["batch"] == "0")
        #expect(end.metadata["test_loss"].flatMap(Double.init) != nil)
        #expect(try String(contentsOfFile: directory + "/completed", encoding: .utf8)
            == "step 12 sha256 \(trainer.fingerprint())\n")
        let saved = try String(contentsOfFile: directory + "/config.json", encoding: .utf8)
        #expect(try JSONDecoder().decode(TrainingConfig.self, from: Data(saved.utf8)) == config)
    }

    @Test func aResumeWithAResultChangingDifferenceIsRefusedNamingTheField() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try smallConfig()
        let first = try makeTrainer(config)
        try first.configureFaultTolerance(
            FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory), preemption: PreemptionFlag(stopAfterStep: 8)))
        _ = try runToStop(first)
        let checkpoint = try #require(try Resume.decide(mode: .auto, runDirectory: directory).checkpoint)
        let path = directory + "/ckpt-00000008.safetensors"
        let tail = "resume with the same value, or use another --run-dir"

        var changed = config
        changed.learningRate = 0.02
        #expect(throws: TrainingError.invalidOption("\(path) was saved with --lr 0.01, but this run has 0.02; \(tail)")) {
            try makeTrainer(changed).restore(from: checkpoint)
        }
        changed = config
        changed.optimizer = .sgd()
        #expect(throws: TrainingError.invalidOption(
            #"\#(path) was saved with --optimizer {"adam":{"amsgrad":false,"beta1":0.9,"beta2":0.999,"epsilon":1e-08}}, "#
                + #"but this run has {"sgd":{"momentum":0,"nesterov":false}}; \#(tail)"#)) {
            try makeTrainer(changed).restore(from: checkpoint)
        }
        changed = config
        changed.model = try ModelSpec(parsing: "6-9:tanh-5:relu-3:softmax")
        #expect(throws: TrainingError.invalidOption(
            "\(path) was saved with --model 6-8:tanh-5:relu-3:softmax, but this run has 6-9:tanh-5:relu-3:softmax; \(tail)")) {
            try makeTrainer(changed).restore(from: checkpoint)
        }
        #expect(throws: TrainingError.invalidOption(
            "\(path) was saved with the training data 'synthetic 96x6', but this run has 'synthetic 80x6'; "
                + "resume with the same --dataset and --train-limit, or use another --run-dir")) {
            try makeTrainer(config, data: syntheticDataset(rows: 80)).restore(from: checkpoint)
        }
        changed = config
        changed.epochs = 1  // the checkpoint is 2 steps into epoch 2
        #expect(throws: TrainingError.invalidOption(
            "\(path) is at epoch 2 (step 8), past --epochs 1; pass --epochs 2 or more to continue it")) {
            try makeTrainer(changed).restore(from: checkpoint)
        }
        changed.epochs = 3  // extending is allowed
        try makeTrainer(changed).restore(from: checkpoint)
    }

    @Test func resumeModesRefuseWhatWouldMixOrLoseRuns() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try Resume.decide(mode: .never, runDirectory: directory).checkpoint == nil)
        #expect(try Resume.decide(mode: .auto, runDirectory: directory).checkpoint == nil)
        #expect(try Resume.decide(mode: .auto, runDirectory: nil).checkpoint == nil)
        let store = CheckpointDirectory(path: directory)
        try store.save(try makeTrainer(smallConfig()).snapshot(epoch: 0, batch: 2, sums: (0, 0), report: nil), keep: 3)
        #expect(throws: TrainingError.invalidOption(
            "--resume never: the run directory \(directory) already holds checkpoints (newest ckpt-00000000.safetensors); "
                + "resume with --resume auto, or choose another --run-dir")) {
            try Resume.decide(mode: .never, runDirectory: directory)
        }
        #expect(throws: TrainingError.missingData("--resume \(directory)/x.safetensors: no such file; check the path")) {
            try Resume.decide(mode: .file(directory + "/x.safetensors"), runDirectory: nil)
        }
        // Every checkpoint damaged: refused (after naming each), never a silent fresh start.
        let file = directory + "/ckpt-00000000.safetensors"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
        var named: [String] = []
        #expect(throws: TrainingError.checkpoint(
            "\(directory): none of its 1 checkpoint validates (reasons above); move the damaged files away, or choose another --run-dir")) {
            try Resume.agree(mode: .auto, runDirectory: directory, communicator: SingleProcessCommunicator()) { named.append($0.reason) }
        }
        #expect(named == [
            "\(file): the file has 3 bytes, fewer than the 8-byte header length; the file is truncated or not a checkpoint"
        ])
    }

    @Test func rank0DecidesAndEveryRankGetsTheSameCheckpoint() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try makeTrainer(try smallConfig())
        try first.configureFaultTolerance(
            FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory), preemption: PreemptionFlag(stopAfterStep: 5)))
        _ = try runToStop(first)
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            // Only rank 0 knows the run directory, as on hosts without a shared file system.
            let decision = try Resume.agree(
                mode: .auto, runDirectory: communicator.rank == 0 ? directory : nil, communicator: communicator)
            let checkpoint = try #require(decision.checkpoint)
            return "\(checkpoint.path ?? "-") \(checkpoint.step) \(checkpoint.metadata["tensor_crc32"] ?? "-")"
        }
        let texts = try outcomes.map { try $0.get() }
        #expect(Set(texts).count == 1)
        #expect(texts[0].hasPrefix("\(directory)/ckpt-00000005.safetensors 5 0x"))
    }

    @Test func providersGetTheirStateBackWhetherRegisteredBeforeOrAfterTheRestore() throws {
        final class Counter: TrainerStateProvider {
            let stateKey = "counter"
            var value = 0
            var table: [Float] = []
            var restored: TrainerState?
            func savedState() -> TrainerState {
                TrainerState(
                    metadata: ["value": String(value)],
                    tensors: [CheckpointTensor(name: "table", shape: [table.count], values: table)])
            }
            func restore(_ state: TrainerState) throws(TrainingError) { restored = state }
        }
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try makeTrainer(try smallConfig())
        let counter = Counter()
        counter.value = 42
        counter.table = [1.5, -2, 0.25]
        try first.register(counter)
        try first.configureFaultTolerance(
            FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory), preemption: PreemptionFlag(stopAfterStep: 2)))
        _ = try runToStop(first)
        let checkpoint = try #require(try Resume.decide(mode: .auto, runDirectory: directory).checkpoint)
        #expect(checkpoint.metadata["state.counter.value"] == "42")
        #expect(checkpoint.tensor(named: "state.counter.table")?.values == [1.5, -2, 0.25])

        let before = Counter()
        let second = try makeTrainer(try smallConfig())
        try second.register(before)
        try second.restore(from: checkpoint)
        let after = Counter()
        let third = try makeTrainer(try smallConfig())
        try third.restore(from: checkpoint)
        try third.register(after)
        for provider in [before, after] {
            #expect(provider.restored?.metadata == ["value": "42"])
            #expect(provider.restored?.tensor(named: "table")?.values == [1.5, -2, 0.25])
        }
        // A provider the checkpoint predates gets empty state.
        final class Newcomer: TrainerStateProvider {
            let stateKey = "newcomer"
            var restored: TrainerState?
            func savedState() -> TrainerState { TrainerState() }
            func restore(_ state: TrainerState) throws(TrainingError) { restored = state }
        }
        let newcomer = Newcomer()
        try second.register(newcomer)
        #expect(newcomer.restored == nil, "nothing restored since the registration")
        let fourth = try makeTrainer(try smallConfig())
        try fourth.register(newcomer)
        try fourth.restore(from: checkpoint)
        #expect(newcomer.restored?.isEmpty == true)
    }
}

@Suite struct NonFiniteStepTests {
    /// The synthetic rows with a NaN in row 37: the step whose batch holds it has a NaN loss.
    func poisoned() -> Dataset {
        let data = syntheticDataset()
        data.features[37 * 6] = .nan
        return data
    }

    @Test func stopNamesTheStepAndLeavesTheWeightsOfTheStepBefore() throws {
        let config = try smallConfig()
        let trainer = try makeTrainer(config, data: poisoned())
        var caught: TrainingError?
        do { _ = try trainer.run() } catch { caught = error }
        let error = try #require(caught)
        guard case .nonFinite(let message) = error else {
            Issue.record("expected nonFinite, got \(error)")
            return
        }
        let step = trainer.stepsTaken + 1
        #expect(message == "step \(step) (epoch 1): the loss is NaN or Inf; stopped before the update (--nan stop), "
            + "the last checkpoint is intact; lower --lr, check the data, or pass --nan skip")
        #expect(!trainer.parameters.array.contains { !$0.isFinite })
    }

    @Test func skipCountsTheBadStepsAndMatchesAcrossWorldSizes() throws {
        var config = try smallConfig()
        config.epochs = 3
        let single = try makeTrainer(config, data: poisoned())
        try single.configureFaultTolerance(FaultOptions(nonFinite: .skip))
        var skipped: [Int] = []
        let summary = try single.run { skipped.append($0.skippedSteps) }
        #expect(skipped == [1, 1, 1])
        #expect(!single.parameters.array.contains { !$0.isFinite })
        #expect(single.optimizer.stepCount == 3 * 6 - 3)
        #expect(summary.steps == 18)

        let threeEpochs = config
        let outcomes = InProcessCommunicatorGroup(size: 2).run { communicator in
            let data = syntheticDataset()
            data.features[37 * 6] = .nan
            let trainer = try makeTrainer(threeEpochs, communicator: communicator, data: data)
            try trainer.configureFaultTolerance(FaultOptions(nonFinite: .skip))
            return try trainer.run().fingerprint
        }
        for outcome in outcomes { #expect(try outcome.get() == summary.fingerprint) }
    }

    /// Weights of 6-8:tanh-5:relu-3:softmax whose logits are exactly 0 (a
    /// finite loss, log 3) while the gradient below the second layer
    /// overflows: h1 = tanh(0) = 0, h2 = relu(b2) = (1, 1, 0, 0, 0), logit 0 =
    /// 3e38 − 3e38, and dH1 = dH2 · W2ᵀ ≈ 1e37 · 1e30.
    static func overflowingGradientWeights(_ trainer: Trainer) {
        let layout = trainer.network.layout
        let parameters = trainer.parameters
        parameters.fill(0)
        for i in 0..<8 { parameters[layout.layers[1].weight + i * 5] = 1e30 }
        parameters[layout.layers[1].bias] = 1
        parameters[layout.layers[1].bias + 1] = 1
        parameters[layout.layers[2].weight] = 3e38
        parameters[layout.layers[2].weight + 3] = -3e38
    }

    @Test(arguments: [1, 2, 3])
    func aFiniteLossWithANonFiniteGradientStopsBeforeTheUpdate(threads: Int) throws {
        let trainer = try Trainer(
            config: try smallConfig(), train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: threads))
        Self.overflowingGradientWeights(trainer)
        let before = trainer.parameters.array
        #expect(throws: TrainingError.nonFinite(
            "step 1 (epoch 1): the reduced gradient holds NaN or Inf; stopped before the update (--nan stop), "
                + "the last checkpoint is intact; lower --lr, check the data, or pass --nan skip")) {
            _ = try trainer.run()
        }
        #expect(trainer.parameters.array.map(\.bitPattern) == before.map(\.bitPattern))

        // Two ranks find it too (each in the part of the reduced gradient it owns).
        let outcomes = InProcessCommunicatorGroup(size: 2).run { communicator in
            let trainer = try makeTrainer(try smallConfig(), communicator: communicator)
            Self.overflowingGradientWeights(trainer)
            do throws(TrainingError) {
                _ = try trainer.run()
            } catch {
                return "\(error)"
            }
            return "no error"
        }
        for outcome in outcomes { #expect(try outcome.get().contains("the reduced gradient holds NaN or Inf")) }
    }

    @Test func aGradientThatIsNonFiniteInEveryStepSkipsEveryStep() throws {
        let trainer = try Trainer(
            config: try smallConfig(), train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 2))
        try trainer.configureFaultTolerance(FaultOptions(nonFinite: .skip))
        Self.overflowingGradientWeights(trainer)
        let before = trainer.parameters.array
        var skipped: [Int] = []
        _ = try trainer.run { skipped.append($0.skippedSteps) }
        #expect(skipped == [6, 6])
        #expect(trainer.optimizer.stepCount == 0)
        #expect(trainer.parameters.array.map(\.bitPattern) == before.map(\.bitPattern))
    }

    @Test func aCheckpointIsNeverWrittenFromNonFiniteParameters() throws {
        let directory = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trainer = try makeTrainer(try smallConfig())
        try trainer.configureFaultTolerance(FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory)))
        trainer.parameters[3] = .nan
        #expect(throws: TrainingError.nonFinite(
            "the parameters hold NaN or Inf after step 0; no checkpoint is written, the last one saved is intact; "
                + "lower --lr or check the data")) {
            try trainer.saveCheckpoint(epoch: 0, batch: 0, wait: true)
        }
        #expect(try CheckpointDirectory(path: directory).checkpoints().isEmpty)
    }

    @Test func aFailedWriteStopsEveryRankAtTheNextStepBoundary() throws {
        let root = try checkpointTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/run"
        var config = try smallConfig()
        config.epochs = 3
        let trainer = try makeTrainer(config)
        try trainer.configureFaultTolerance(FaultOptions(checkpoints: CheckpointPlan(runDirectory: directory, every: 2)))
        // The run directory turns into a file: the next save cannot create its directory.
        try FileManager.default.removeItem(atPath: directory)
        try Data().write(to: URL(fileURLWithPath: directory))
        #expect(throws: TrainingError.checkpointWrite(
            "\(directory): cannot use the run directory (it is not a directory); check the path and its permissions")) {
            try trainer.run()
        }
        // The save after step 2 failed in the background; rank 0 learns it at the latest when the
        // next save (step 4) waits for it, and the ranks agree on it at the following boundary.
        #expect((3...5).contains(trainer.stepsTaken))
    }
}
