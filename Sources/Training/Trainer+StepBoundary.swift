// Trainer+StepBoundary: what the ranks agree on between two steps (DESIGN.md 4).
//
// After the gradient is reduced and before the update, every rank contributes
// four flags to one allreduceMax:
//   [0] preemption requested here: the signal's number, or a scheduled stop
//   [1] this rank's loss is NaN/Inf (rank + 1, so the message can name a rank)
//   [2] the reduced gradient is NaN/Inf (the same on every rank by construction)
//   [3] rank 0's last checkpoint write failed
// so every rank takes the same branch: skip or stop on NaN/Inf (`--nan`), go
// on, or — after the update — save a checkpoint and stop. A NaN model is never
// saved: a bad step is never applied, and a save checks the parameters first.

import Collective
import Engine
import Foundation

extension Trainer {
    /// The step-boundary agreement; returns whether to apply this step's update.
    func agreeAtStepBoundary() throws(TrainingError) -> Bool {
        let stopCode = faults.options.preemption?.stopCode(afterStep: stepIndex + 1) ?? 0
        let lossBad = !(epochLoss.isFinite && epochCorrect.isFinite)
        // A bad loss makes the step bad already; only a finite one needs the gradient scanned.
        let gradientBad = !lossBad && reducedGradientIsNonFinite()
        if communicator.rank == 0, faults.writeFailure == nil, let error = faults.writer?.lastError {
            faults.writeFailure = error
        }
        // A tuple, not an array: the step boundary allocates nothing. The
        // last is rank 0's proposal of a transport (the others propose none).
        var flags: (Int64, Int64, Int64, Int64, Int64) = (
            stopCode, lossBad ? Int64(communicator.rank + 1) : 0, gradientBad ? 1 : 0,
            faults.writeFailure != nil ? 1 : 0, proposedTransport
        )
        proposedTransport = 0
        if communicator.size > 1 {
            do {
                try withUnsafeMutableBytes(of: &flags) { raw in
                    try communicator.allreduceMax(raw.bindMemory(to: Int64.self))
                }
            } catch {
                throw .communication("\(error)")
            }
        }
        faults.preemptionCode = flags.0
        faults.writeFailureAgreed = flags.3 != 0
        agreedTransport = flags.4
        guard flags.1 != 0 || flags.2 != 0 else { return true }

        let step = stepIndex + 1
        let place = "step \(step) (epoch \(faults.epoch + 1))"
        let what = flags.1 != 0
            ? "the loss is NaN or Inf" + (communicator.size > 1 ? " on rank \(flags.1 - 1)" : "")
            : "the reduced gradient holds NaN or Inf"
        switch faults.options.nonFinite {
        case .stop:
            throw .nonFinite(
                "\(place): \(what); stopped before the update (--nan stop), the last checkpoint is intact; "
                    + "lower --lr, check the data, or pass --nan skip")
        case .skip:
            (epochLoss, epochCorrect) = faults.boundarySums
            faults.skippedInEpoch += 1
            faults.skippedTotal += 1
            return false
        }
    }

    /// Resets the epoch's running sums, or takes rank 0's share of a resumed epoch's.
    func beginEpoch(_ epoch: Int) {
        faults.epoch = epoch
        if epoch == faults.startEpoch, let resumed = faults.resumedEpochSums {
            let root = communicator.rank == 0
            (epochLoss, epochCorrect) = root ? (resumed.loss, resumed.correct) : (0, 0)
            faults.skippedInEpoch = resumed.skipped
            faults.resumedEpochSums = nil
        } else {
            (epochLoss, epochCorrect) = (0, 0)
            faults.skippedInEpoch = 0
        }
        faults.boundarySums = (epochLoss, epochCorrect)
    }

    /// The first global batch of `epoch` to run: past the resumed position in the first epoch.
    func firstBatch(of epoch: Int) -> Int {
        epoch == faults.startEpoch ? faults.startBatch : 0
    }

    /// The share of `epoch`'s steps this process runs (less than 1 in a resumed epoch), for its speed.
    func resumedEpochShare(_ epoch: Int) -> Double {
        Double(stepsPerEpoch - firstBatch(of: epoch)) / Double(max(stepsPerEpoch, 1))
    }

    /// After step `batch` of `epoch`: stop on an agreed write failure, save and stop on an agreed
    /// preemption, save every `--checkpoint-every` steps (the epoch's last step is saved by `endEpoch`).
    func endStep(epoch: Int, batch: Int) throws(TrainingError) {
        faults.boundarySums = (epochLoss, epochCorrect)
        if faults.writeFailureAgreed {
            throw .checkpointWrite(
                faults.writeFailure?.description ?? "rank 0 could not write a checkpoint; see its message")
        }
        if faults.preemptionCode != 0 {
            let cause = PreemptionFlag.cause(ofStopCode: faults.preemptionCode)
            let path = try saveCheckpoint(epoch: epoch, batch: batch + 1, wait: true)
            let saved = faults.options.checkpoints == nil
                ? "no --run-dir, so nothing was saved"
                : "saved \(path ?? "a checkpoint"); resume with --resume auto"
            throw .preempted(
                "stopped by \(cause) after step \(stepIndex) (epoch \(epoch + 1), step \(batch + 1) of \(stepsPerEpoch)); \(saved)")
        }
        if let plan = faults.options.checkpoints, plan.every > 0, stepIndex % plan.every == 0, batch + 1 < stepsPerEpoch {
            try saveCheckpoint(epoch: epoch, batch: batch + 1, wait: false)
        }
        if faults.options.stepDelay > 0 { Thread.sleep(forTimeInterval: faults.options.stepDelay) }
    }

    /// After epoch `epoch`'s report: the epoch-end checkpoint, with the test loss as its metric.
    func endEpoch(_ epoch: Int, report: EpochReport) throws(TrainingError) {
        try saveCheckpoint(epoch: epoch + 1, batch: 0, report: report, wait: false)
    }

    /// Ends a run: waits for rank 0's last checkpoint and writes the `completed` marker
    /// (stopping every rank if either fails), and builds the summary. A run resumed from a
    /// checkpoint with no epoch left evaluates once for its final report.
    func finishRun(_ last: EpochReport?, restoredEpoch: Int? = nil) throws(TrainingError) -> TrainingSummary {
        let final: EpochReport
        if let last {
            final = last
        } else {
            var metrics = communicator.rank == 0 ? evaluate(test, targets: testTargets) : (loss: 0, accuracy: nil)
            try shareFromRoot(&metrics)
            let train = faults.resumedTrainMetrics
            final = EpochReport(
                epoch: config.epochs, epochs: config.epochs, trainLoss: train?.loss ?? .nan,
                trainAccuracy: train?.accuracy, validationLoss: nil, validationAccuracy: nil,
                testLoss: metrics.loss, testAccuracy: metrics.accuracy,
                samplesPerSecond: 0, learningRate: config.learningRate, stopsEarly: false, communicationShare: 0)
        }
        let fingerprint = fingerprint()
        var failure: String?
        if communicator.rank == 0, let writer = faults.writer, let plan = faults.options.checkpoints {
            do throws(CheckpointError) {
                try writer.waitForPending()
                try AtomicFile.write(to: plan.runDirectory + "/" + Trainer.completedFileName) { (sink) throws(CheckpointError) in
                    try sink.append(contentsOf: Array("step \(stepIndex) sha256 \(fingerprint)\n".utf8))
                }
            } catch {
                failure = error.description
            }
        }
        if try agreeOnFailure(failure != nil) {
            throw .checkpointWrite(failure ?? "rank 0 could not write the last checkpoint; see its message")
        }
        return TrainingSummary(final: final, restoredEpoch: restoredEpoch, fingerprint: fingerprint, steps: stepIndex)
    }
}
