// `dptrain train`'s part in checkpoints and resume: agreeing on the checkpoint
// (rank 0 decides and names every file it skipped), adopting its micro-batch,
// and handing the trainer its fault-tolerance settings and saved state.

import Collective
import Training

extension Train {
    /// The checkpoint every rank resumes from (nil: a fresh run); rank 0 reports each skipped file.
    func agreeOnResume(_ mode: ResumeMode, communicator: any Communicator) throws -> Checkpoint? {
        let decision = try Resume.agree(mode: mode, runDirectory: checkpoints.runDir, communicator: communicator) { rejected in
            writeStandardError("dptrain: skipping \(rejected.reason)\n")
        }
        return decision.checkpoint
    }

    /// `config` with the checkpoint's micro-batch unless `--micro-batch` was given (DESIGN.md 2),
    /// validated for this world size.
    func adoptingMicroBatch(
        of checkpoint: Checkpoint?, _ config: TrainingConfig, worldSize: Int, deterministic: Bool
    ) throws -> TrainingConfig {
        guard let checkpoint, optimization.microBatch == nil else { return config }
        var adopted = config
        adopted.microBatchSize = try checkpoint.recordedMicroBatchSize()
        try adopted.validate(worldSize: worldSize, deterministicReduction: deterministic)
        return adopted
    }

    /// Restores `checkpoint`, if any, then turns on checkpoints and the guards (a refused
    /// checkpoint leaves the run directory untouched).
    func prepare(_ trainer: Trainer, resumingFrom checkpoint: Checkpoint?, isRoot: Bool) throws {
        if let checkpoint { try trainer.restore(from: checkpoint) }
        try trainer.configureFaultTolerance(checkpoints.faultOptions(preemption: .process))
        guard let checkpoint else { return }
        if isRoot {
            let metadata = checkpoint.metadata
            let epoch = (checkpoint.epoch ?? 0) + 1
            let batch = metadata[Checkpoint.Key.batch].flatMap { Int($0) } ?? 0
            let position = batch == 0 ? "start of epoch \(epoch)" : "epoch \(epoch) after \(batch) of its steps"
            let ranks = metadata[Checkpoint.Key.worldSize] ?? "?"
            print(
                "dptrain: resuming from \(checkpoint.path ?? "checkpoint") (step \(checkpoint.step), \(position); "
                    + "saved by \(ranks) rank\(ranks == "1" ? "" : "s") with micro-batch "
                    + "\(metadata[Checkpoint.Key.microBatch] ?? "?"))")
            flush()
            if let recorded = metadata[Checkpoint.Key.numericsSignature], let current = trainer.numericsSignature,
               recorded != current {
                writeStandardError(
                    "dptrain: warning: \(checkpoint.path ?? "the checkpoint") was written on a machine that computes the model's "
                        + "gradients with other bits (another CPU type or library build); the run goes on from it, "
                        + "but not bit for bit as it would have there\n")
            }
        }
    }
}
