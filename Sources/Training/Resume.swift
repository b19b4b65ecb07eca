// Resume: which checkpoint a run continues from, decided by rank 0 and
// shared with every rank, so no rank ever resumes from another file than the
// others (DESIGN.md 4, 5).
//
// `--resume auto` takes the newest checkpoint of the run directory that
// validates (CheckpointDirectory.newestValid) and names every newer file it
// skipped with the reason; a directory whose checkpoints all fail is refused
// rather than silently started over. `never` starts fresh and refuses a
// directory that already holds checkpoints (their steps would mix with the
// new run's). A path resumes from that file. Rank 0 then broadcasts the
// checkpoint's bytes; every other rank validates them again (CRC-32), so the
// run directory need not be on a file system that every host shares.

import Collective

/// How a run picks the checkpoint to resume from.
public enum ResumeMode: Sendable, Equatable {
    /// The newest valid checkpoint of the run directory, if it holds any.
    case auto
    /// Start fresh; refuse a run directory with checkpoints.
    case never
    /// This checkpoint file.
    case file(String)

    /// `auto`, `never`, or a path.
    public init(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "never": self = .never
        default: self = .file(argument)
        }
    }
}

/// The metadata keys the trainer writes besides the format's own (Checkpoint.swift).
extension Checkpoint.Key {
    /// Steps of epoch `epoch` already done (0 ... steps per epoch); with `epoch`, the data cursor.
    public static let batch = "batch"
    /// The run's `TrainingConfig` as JSON with sorted keys.
    public static let config = "config"
    /// The seed: the key of every random draw (Philox4x32-10 addressed by purpose, epoch, index).
    public static let seed = "seed"
    /// How the random draws are made, for readers of the file.
    public static let rng = "rng"
    /// World size at save (resuming works at any power of two dividing the micro-batch count).
    public static let worldSize = "world_size"
    /// Global batch B.
    public static let globalBatch = "global_batch"
    /// Micro-batch m: a resume reuses it unless `--micro-batch` is given (DESIGN.md 2).
    public static let microBatch = "micro_batch"
    /// The optimizer's update count (Adam's bias correction).
    public static let optimizerStepCount = "optimizer_step_count"
    /// Names of the optimizer's state buffers, comma-separated, in its order.
    public static let optimizerState = "optimizer_state"
    /// The training data the run reads: name, rows × features.
    public static let trainingData = "training_data"
    /// The epoch's loss and correct-prediction sums over all ranks so far.
    public static let epochLossSum = "epoch_loss_sum"
    public static let epochCorrectSum = "epoch_correct_sum"
    /// Steps skipped for NaN/Inf (`--nan skip`): in the run, and in the current epoch.
    public static let skippedSteps = "nan_skipped_steps"
    public static let skippedStepsInEpoch = "nan_skipped_steps_epoch"
    /// Metrics of the epoch just finished (epoch-end checkpoints only).
    public static let trainLoss = "train_loss"
    public static let trainAccuracy = "train_accuracy"
    public static let testLoss = "test_loss"
    public static let testAccuracy = "test_accuracy"
    /// The dptrain version that wrote the file.
    public static let writer = "dptrain_version"
    /// The numerics signature of the machine that wrote the file (`NumericsSignature`).
    public static let numericsSignature = "numerics_signature"
    /// Prefix of the entries of state providers: `state.<key>.<name>`.
    public static let statePrefix = "state."
}

/// What rank 0 decided to resume from.
public struct ResumeDecision: Sendable {
    /// The checkpoint, on every rank; nil: start fresh.
    public let checkpoint: Checkpoint?
    /// Files skipped on the way to it, newest first, with the reason (rank 0 only).
    public let rejected: [RejectedCheckpoint]
}

public enum Resume {
    /// Decides on this process alone; `agree` is the multi-rank form.
    public static func decide(mode: ResumeMode, runDirectory: String?) throws(TrainingError) -> ResumeDecision {
        switch mode {
        case .file(let path):
            do throws(CheckpointError) {
                return ResumeDecision(checkpoint: try Checkpoint.load(from: path), rejected: [])
            } catch {
                if case .missingFile = error { throw .missingData("--resume \(error.description)") }
                throw .checkpoint(error.description)
            }
        case .never:
            guard let runDirectory else { return ResumeDecision(checkpoint: nil, rejected: []) }
            let files = try checkpointFiles(runDirectory)
            if let newest = files.first {
                throw .invalidOption(
                    "--resume never: the run directory \(runDirectory) already holds checkpoints (newest \(baseName(newest.path))); "
                        + "resume with --resume auto, or choose another --run-dir")
            }
            return ResumeDecision(checkpoint: nil, rejected: [])
        case .auto:
            guard let runDirectory else { return ResumeDecision(checkpoint: nil, rejected: []) }
            let point: ResumePoint
            do { point = try CheckpointDirectory(path: runDirectory).newestValid() } catch { throw .checkpoint(error.description) }
            return ResumeDecision(checkpoint: point.checkpoint, rejected: point.rejected)
        }
    }

    /// Rank 0 decides (reporting each skipped file through `onRejected`) and every rank gets
    /// the same checkpoint. A run directory whose checkpoints all fail validation is refused.
    public static func agree(
        mode: ResumeMode, runDirectory: String?, communicator: any Communicator,
        onRejected: (RejectedCheckpoint) -> Void = { _ in }
    ) throws(TrainingError) -> ResumeDecision {
        var decision: Result<ResumeDecision, TrainingError> = .success(ResumeDecision(checkpoint: nil, rejected: []))
        if communicator.rank == 0 {
            decision = Result { () throws(TrainingError) in try decide(mode: mode, runDirectory: runDirectory) }
            if case .success(let chosen) = decision {
                chosen.rejected.forEach(onRejected)
                if chosen.checkpoint == nil, !chosen.rejected.isEmpty, let runDirectory {
                    let count = chosen.rejected.count
                    decision = .failure(.checkpoint(
                        "\(runDirectory): none of its \(count) checkpoint\(count == 1 ? "" : "s") validates (reasons above); "
                            + "move the damaged files away, or choose another --run-dir"))
                }
            }
        }
        if communicator.size == 1 { return try decision.get() }

        // Rank 0's verdict: -1 failed, else the byte counts of the checkpoint and of its path (0: none).
        var payload: [UInt8] = []
        var path: [UInt8] = []
        if case .success(let chosen) = decision, let checkpoint = chosen.checkpoint {
            payload = checkpoint.encoded()
            path = Array((checkpoint.path ?? "checkpoint").utf8)
        }
        var header: [Int64] = [0, Int64(payload.count), Int64(path.count)]
        if case .failure = decision { header[0] = -1 }
        do {
            try header.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
            if header[0] < 0 {
                if case .failure(let error) = decision { throw error }
                throw TrainingError.checkpoint("rank 0 could not choose a checkpoint to resume from; see its message")
            }
            if header[1] == 0 { return try decision.get() }
            if communicator.rank != 0 {
                payload = [UInt8](repeating: 0, count: Int(header[1]))
                path = [UInt8](repeating: 0, count: Int(header[2]))
            }
            try payload.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
            try path.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .communication("sharing the checkpoint to resume from: \(error)")
        }
        if communicator.rank == 0 { return try decision.get() }
        do throws(CheckpointError) {
            let file = try SafeTensorsFile(bytes: payload, path: String(decoding: path, as: UTF8.self))
            return ResumeDecision(checkpoint: try Checkpoint(validating: file), rejected: [])
        } catch {
            throw .checkpoint("rank \(communicator.rank) received a checkpoint from rank 0 that does not validate: \(error)")
        }
    }

    private static func checkpointFiles(_ runDirectory: String) throws(TrainingError) -> [CheckpointFile] {
        do { return try CheckpointDirectory(path: runDirectory).checkpoints() } catch { throw .checkpoint(error.description) }
    }
}

extension Checkpoint {
    /// The integer metadata value `key`, at least `minimum`, or a typed error naming the file.
    func integer(_ key: String, minimum: Int = 0) throws(TrainingError) -> Int {
        let source = path ?? "checkpoint"
        guard let text = metadata[key] else {
            throw .checkpoint(CheckpointError.missingMetadata(path: source, key: key).description)
        }
        guard let value = Int(text), value >= minimum else {
            throw .checkpoint(CheckpointError.invalidMetadata(
                path: source, key: key, value: text, expected: minimum == 0 ? "a non-negative integer" : "an integer ≥ \(minimum)"
            ).description)
        }
        return value
    }

    /// The Double metadata value `key` (nil when absent), or a typed error naming the file.
    func double(_ key: String) throws(TrainingError) -> Double? {
        guard let text = metadata[key] else { return nil }
        guard let value = Double(text) else {
            throw .checkpoint(CheckpointError.invalidMetadata(
                path: path ?? "checkpoint", key: key, value: text, expected: "a number").description)
        }
        return value
    }

    /// The micro-batch size the run was saved with (a resume reuses it, DESIGN.md 2).
    public func recordedMicroBatchSize() throws(TrainingError) -> Int {
        try integer(Key.microBatch, minimum: 1)
    }
}
