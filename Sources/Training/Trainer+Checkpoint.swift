// Trainer+Checkpoint: what a checkpoint holds and how a run continues from one.
//
// Tensors (all F32, safetensors, DESIGN.md 5):
//   layers.<l>.weight (in, out), layers.<l>.bias (out), layers.<l>.slope (out)
//                                     the parameters, by the arena's layout
//   optimizer.<buffer>.<parameter>    every optimizer state buffer in the same
//                                     layout, PyTorch's names: exp_avg, exp_avg_sq,
//                                     max_exp_avg_sq (Adam), momentum_buffer (SGD),
//                                     square_avg (RMSprop), sum (AdaGrad)
//   state.<key>.<name>                the tensors of state providers
// Metadata: the format's keys (Checkpoint.swift) and the trainer's
// (Checkpoint.Key in Resume.swift): position (epoch, batch, step), config,
// seed, world size, micro-batch, optimizer step count, epoch sums, providers'
// `state.<key>.<name>` values.
//
// Saving is collective at a step boundary: every rank sums the epoch's
// running metrics and checks the parameters (identical on every rank, so the
// verdict agrees); rank 0 alone copies the arena and state into a snapshot and
// hands it to the background writer. Restoring needs no collective: every
// rank holds the same checkpoint (Resume.agree).

import Engine
import Foundation
import Layers
import Optimizers

extension Trainer {
    // MARK: Setting up

    /// Turns on checkpoints, the NaN/Inf policy and preemption. With checkpoints, rank 0 creates
    /// the run directory, writes the resolved config to `config.json` and removes a `completed`
    /// marker; a failure there stops every rank (`.checkpointWrite`). Collective when P > 1.
    public func configureFaultTolerance(_ options: FaultOptions) throws(TrainingError) {
        faults.options = options
        guard let plan = options.checkpoints else { return }
        var failure: String?
        if communicator.rank == 0 {
            let directory = CheckpointDirectory(path: plan.runDirectory)
            do throws(CheckpointError) {
                try directory.create()
                try AtomicFile.write(to: plan.runDirectory + "/" + Trainer.configFileName) { (sink) throws(CheckpointError) in
                    try sink.append(contentsOf: Array((configJSON(pretty: true) + "\n").utf8))
                }
                if unlink(plan.runDirectory + "/" + Trainer.completedFileName) == 0 {
                    try AtomicFile.syncDirectory(of: plan.runDirectory + "/" + Trainer.completedFileName)
                }
                faults.writer = AsyncCheckpointWriter(directory: directory, keep: plan.keep, goal: .minimize)
            } catch {
                failure = error.description
            }
        }
        if try agreeOnFailure(failure != nil) {
            throw .checkpointWrite(failure ?? "rank 0 could not set up the run directory \(plan.runDirectory)")
        }
    }

    /// Adds a provider of extra checkpoint state; state restored earlier is handed to it now.
    public func register(_ provider: any TrainerStateProvider) throws(TrainingError) {
        let key = provider.stateKey
        precondition(!key.isEmpty && !key.contains("."), "state key '\(key)' must be non-empty and without dots")
        precondition(!faults.providers.contains { $0.stateKey == key }, "state key '\(key)' is registered twice")
        faults.providers.append(provider)
        if let state = faults.restoredProviderState.removeValue(forKey: key) { try provider.restore(state) }
    }

    /// The name of the resolved config in the run directory.
    public static let configFileName = "config.json"
    /// The marker rank 0 writes when a run has finished every epoch.
    public static let completedFileName = "completed"

    /// The config as JSON with sorted keys.
    func configJSON(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The training data as a checkpoint records it: name, rows × features.
    var trainingDataIdentity: String { "\(train.name) \(train.rowCount)x\(train.featureCount)" }

    /// Names of the optimizer's state buffers, in `optimizer.state` order.
    var optimizerStateNames: [String] {
        let names: [String]
        switch config.optimizer {
        case .sgd: names = ["momentum_buffer"]
        case .adam, .adamW: names = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
        case .rmsprop: names = ["square_avg", "momentum_buffer"]
        case .adagrad: names = ["sum"]
        }
        let count = optimizer.state.count
        return count <= names.count ? Array(names.prefix(count)) : (0..<count).map { "state\($0)" }
    }

    // MARK: Saving

    /// Saves the state after `stepIndex` steps at position (`epoch`, `batch`), collectively.
    /// Rank 0 submits the snapshot to the background writer; with `wait`, it waits for the
    /// file and the ranks agree on the outcome. Returns the file's path (rank 0, `wait`).
    @discardableResult
    func saveCheckpoint(epoch: Int, batch: Int, report: EpochReport? = nil, wait: Bool) throws(TrainingError) -> String? {
        guard faults.options.checkpoints != nil else { return nil }
        try synchronizeOptimizerState()
        var sums = [epochLoss, epochCorrect]
        if batch > 0 { try reduce(&sums) } else { sums = [0, 0] }
        // The parameters are bitwise the same on every rank, so every rank reaches the same verdict.
        if faults.scan.containsNonFinite(parameters, pool: pool) {
            throw .nonFinite(
                "the parameters hold NaN or Inf after step \(stepIndex); no checkpoint is written, the last one saved "
                    + "is intact; lower --lr or check the data")
        }
        var path: String?
        var failure: CheckpointError?
        if communicator.rank == 0, let writer = faults.writer {
            // The previous save must be done: its error would otherwise be lost to the next one.
            do { try writer.waitForPending() } catch { faults.writeFailure = error }
            writer.submit(
                snapshot(epoch: epoch, batch: batch, sums: (sums[0], sums[1]), report: report),
                metric: report.map(\.testLoss))
            if wait {
                do {
                    try writer.waitForPending()
                    path = writer.lastSavedPath
                } catch {
                    failure = error
                }
            }
        }
        if wait, try agreeOnFailure(failure != nil) {
            throw .checkpointWrite(failure?.description ?? "rank 0 could not write the checkpoint of step \(stepIndex)")
        }
        return path
    }

    /// A copy of everything a resume needs, as a checkpoint.
    func snapshot(epoch: Int, batch: Int, sums: (loss: Double, correct: Double), report: EpochReport?) -> Checkpoint {
        let layout = network.layout
        var tensors = CheckpointTensor.slices(of: parameters, layout: layout)
        let stateNames = optimizerStateNames
        for (name, buffer) in zip(stateNames, optimizer.state) {
            tensors += CheckpointTensor.slices(of: buffer, layout: layout, prefix: "optimizer.\(name).")
        }
        typealias Key = Checkpoint.Key
        var metadata: [String: String] = [
            Key.epoch: String(epoch),
            Key.batch: String(batch),
            Key.config: configJSON(),
            Key.seed: String(config.seed),
            Key.rng: "philox4x32-10 keyed by seed; shuffle of epoch e = Fisher-Yates with draw i at (shuffle, e, i)",
            Key.worldSize: String(communicator.size),
            Key.globalBatch: String(config.globalBatchSize),
            Key.microBatch: String(config.microBatchSize),
            Key.optimizerStepCount: String(optimizer.stepCount),
            Key.optimizerState: stateNames.joined(separator: ","),
            Key.trainingData: trainingDataIdentity,
            Key.epochLossSum: "\(sums.loss)",
            Key.epochCorrectSum: "\(sums.correct)",
            Key.skippedSteps: String(faults.skippedTotal),
            Key.skippedStepsInEpoch: String(batch > 0 ? faults.skippedInEpoch : 0),
            Key.writer: Preflight.version,
        ]
        if let numericsSignature { metadata[Key.numericsSignature] = numericsSignature }
        if let report {
            metadata[Key.trainLoss] = "\(report.trainLoss)"
            metadata[Key.testLoss] = "\(report.testLoss)"
            if let accuracy = report.trainAccuracy { metadata[Key.trainAccuracy] = "\(accuracy)" }
            if let accuracy = report.testAccuracy { metadata[Key.testAccuracy] = "\(accuracy)" }
        }
        for provider in faults.providers {
            let prefix = Key.statePrefix + provider.stateKey + "."
            let state = provider.savedState()
            for (name, value) in state.metadata { metadata[prefix + name] = value }
            for tensor in state.tensors {
                tensors.append(CheckpointTensor(name: prefix + tensor.name, shape: tensor.shape, values: tensor.values))
            }
        }
        return Checkpoint(modelSpec: config.model.description, step: stepIndex, tensors: tensors, metadata: metadata)
    }

    /// True on every rank when `failed` is true on any (always false without a collective need).
    func agreeOnFailure(_ failed: Bool) throws(TrainingError) -> Bool {
        if communicator.size == 1 { return failed }
        do { return try communicator.anyRank(failed) } catch { throw .communication(error.description) }
    }

    // MARK: Restoring

    /// Continues from `checkpoint`: parameters, optimizer state and step count, position in the
    /// data, the epoch's sums, providers' state. Refuses a checkpoint of a run with another
    /// result-changing setting (naming it; `epochs` may grow) or other training data.
    public func restore(from checkpoint: Checkpoint) throws(TrainingError) {
        typealias Key = Checkpoint.Key
        let source = checkpoint.path ?? "checkpoint"
        if let difference = try configDifference(checkpoint) { throw .invalidOption(difference) }
        let recordedData = checkpoint.metadata[Key.trainingData] ?? "?"
        if recordedData != trainingDataIdentity {
            throw .invalidOption(
                "\(source) was saved with the training data '\(recordedData)', but this run has '\(trainingDataIdentity)'; "
                    + "resume with the same --dataset and --train-limit, or use another --run-dir")
        }
        let step = try checkpoint.integer(Key.step)
        let epoch = try checkpoint.integer(Key.epoch)
        let batch = try checkpoint.integer(Key.batch)
        guard batch <= stepsPerEpoch, step == epoch * stepsPerEpoch + batch else {
            throw .checkpoint(
                "\(source): step \(step) does not match epoch \(epoch) and batch \(batch) at \(stepsPerEpoch) steps per epoch; "
                    + "the file is damaged")
        }
        if epoch > config.epochs || (epoch == config.epochs && batch > 0) {
            throw .invalidOption(
                "\(source) is at epoch \(epoch + 1) (step \(step)), past --epochs \(config.epochs); "
                    + "pass --epochs \(batch > 0 ? epoch + 1 : epoch) or more to continue it")
        }
        let stepCount = try checkpoint.integer(Key.optimizerStepCount)
        let skipped = try checkpoint.integer(Key.skippedSteps)
        let skippedInEpoch = try checkpoint.integer(Key.skippedStepsInEpoch)
        let lossSum = try checkpoint.double(Key.epochLossSum) ?? 0
        let correctSum = try checkpoint.double(Key.epochCorrectSum) ?? 0
        let recordedState = checkpoint.metadata[Key.optimizerState] ?? ""
        let stateNames = optimizerStateNames
        if recordedState != stateNames.joined(separator: ",") {
            throw .checkpoint(
                "\(source): optimizer state '\(recordedState)' does not fit this run's optimizer "
                    + "('\(stateNames.joined(separator: ","))'); the file is damaged")
        }
        do throws(CheckpointError) {
            try checkpoint.restore(into: parameters, layout: network.layout)
            for (name, buffer) in zip(stateNames, optimizer.state) {
                try checkpoint.restore(into: buffer, layout: network.layout, prefix: "optimizer.\(name).")
            }
        } catch {
            throw .checkpoint(error.description)
        }
        optimizer.stepCount = stepCount
        stepIndex = step
        faults.startEpoch = epoch
        faults.startBatch = batch
        faults.skippedTotal = skipped
        faults.resumedEpochSums = batch > 0 ? (lossSum, correctSum, skippedInEpoch) : nil
        if let loss = try checkpoint.double(Key.trainLoss) {
            faults.resumedTrainMetrics = (loss, try checkpoint.double(Key.trainAccuracy))
        }

        var states: [String: TrainerState] = [:]
        for (key, value) in checkpoint.metadata where key.hasPrefix(Key.statePrefix) {
            if let (provider, name) = Self.splitStateName(key) { states[provider, default: TrainerState()].metadata[name] = value }
        }
        for tensor in checkpoint.tensors where tensor.name.hasPrefix(Key.statePrefix) {
            if let (provider, name) = Self.splitStateName(tensor.name) {
                states[provider, default: TrainerState()].tensors.append(
                    CheckpointTensor(name: name, shape: tensor.shape, values: tensor.values))
            }
        }
        for provider in faults.providers {
            try provider.restore(states.removeValue(forKey: provider.stateKey) ?? TrainerState())
        }
        faults.restoredProviderState = states
    }

    /// ("key", "name") of `state.key.name`.
    private static func splitStateName(_ full: String) -> (String, String)? {
        let rest = full.dropFirst(Checkpoint.Key.statePrefix.count)
        guard let dot = rest.firstIndex(of: "."), dot != rest.startIndex else { return nil }
        return (String(rest[..<dot]), String(rest[rest.index(after: dot)...]))
    }

    /// The config fields a resume may change: `epochs` extends or shortens a run.
    public static let resumableConfigFields: Set<String> = ["epochs"]

    /// The CLI option of each `TrainingConfig` field, for messages; other fields go by their name.
    public static let configFieldOptions: [String: String] = [
        "model": "--model", "loss": "--loss", "globalBatchSize": "--batch-size", "microBatchSize": "--micro-batch",
        "optimizer": "--optimizer", "learningRate": "--lr", "seed": "--seed", "initializer": "--init",
        "lastBatch": "--last-batch", "evaluationBatchSize": "the evaluation batch size",
    ]

    /// The first result-changing field in which this run's config differs from the checkpoint's,
    /// as a one-line message; nil when they agree. Compares the JSON of every field, so fields
    /// added to `TrainingConfig` later are checked too.
    func configDifference(_ checkpoint: Checkpoint) throws(TrainingError) -> String? {
        let source = checkpoint.path ?? "checkpoint"
        guard let savedText = checkpoint.metadata[Checkpoint.Key.config] else {
            throw .checkpoint(CheckpointError.missingMetadata(path: source, key: Checkpoint.Key.config).description)
        }
        guard let saved = jsonObject(savedText), let current = jsonObject(configJSON()) else {
            throw .checkpoint(CheckpointError.invalidMetadata(
                path: source, key: Checkpoint.Key.config, value: String(savedText.prefix(60)), expected: "a JSON object"
            ).description)
        }
        for field in Set(saved.keys).union(current.keys).sorted() where !Self.resumableConfigFields.contains(field) {
            let before = saved[field].map(jsonText) ?? "(none)"
            let now = current[field].map(jsonText) ?? "(none)"
            if before == now { continue }
            let option = Self.configFieldOptions[field] ?? "config field '\(field)'"
            let (shownBefore, shownNow) = field == "model" ? (checkpoint.modelSpec, config.model.description) : (before, now)
            return "\(source) was saved with \(option) \(shownBefore), but this run has \(shownNow); "
                + "resume with the same value, or use another --run-dir"
        }
        return nil
    }
}

private func jsonObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}

/// A JSON value as compact text with sorted keys; strings without quotes.
private func jsonText(_ value: Any) -> String {
    if let text = value as? String { return text }
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else {
        return "\(value)"
    }
    return String(decoding: data, as: UTF8.self)
}

extension Trainer {
    /// Global steps taken so far (also after a run stopped early).
    public var stepsTaken: Int { stepIndex }
}
