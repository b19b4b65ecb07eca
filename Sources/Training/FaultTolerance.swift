// FaultTolerance: the settings and the bookkeeping of checkpoints, resume,
// preemption and the NaN/Inf guard (issue 5). The trainer holds one instance;
// the code that uses it is in Trainer+Checkpoint.swift (saving, restoring)
// and Trainer+StepBoundary.swift (the per-step agreement). None of these
// settings changes the weights a run produces, except `--nan skip` when a
// step is actually skipped.

import Engine

/// What happens when the loss or the reduced gradient holds NaN or Inf.
public enum NonFinitePolicy: String, Sendable, CaseIterable {
    /// Skip the step (no update), count it, and go on.
    case skip
    /// Stop the run before the update, with `TrainingError.nonFinite`.
    case stop
}

/// Where and how often a run saves checkpoints.
public struct CheckpointPlan: Sendable, Equatable {
    /// The run directory: checkpoints, `latest`, `best`, `config.json`, `completed`.
    public var runDirectory: String
    /// Save every this many global steps (0: only at the end of each epoch).
    public var every: Int
    /// Keep the newest this many checkpoints, plus the best by test loss.
    public var keep: Int

    public init(runDirectory: String, every: Int = 0, keep: Int = 3) {
        precondition(every >= 0 && keep >= 1, "checkpoint every \(every) keep \(keep)")
        self.runDirectory = runDirectory
        self.every = every
        self.keep = keep
    }
}

/// Checkpointing and guard settings of a run.
public struct FaultOptions: Sendable {
    /// Where checkpoints go; nil saves none (a preempted run then stops without one).
    public var checkpoints: CheckpointPlan?
    /// The NaN/Inf policy.
    public var nonFinite: NonFinitePolicy
    /// The flag that asks the run to stop at the next step boundary; nil: never.
    public var preemption: PreemptionFlag?
    /// Seconds every rank pauses after each step: only for fault-injection tests, which
    /// need a run slow enough to be interrupted at a chosen step.
    public var stepDelay: Double

    public init(
        checkpoints: CheckpointPlan? = nil, nonFinite: NonFinitePolicy = .stop, preemption: PreemptionFlag? = nil,
        stepDelay: Double = 0
    ) {
        self.checkpoints = checkpoints
        self.nonFinite = nonFinite
        self.preemption = preemption
        self.stepDelay = stepDelay
    }
}

/// The trainer's fault-tolerance state.
final class FaultTolerance {
    var options = FaultOptions()
    /// Rank 0's background writer, when checkpoints are on.
    var writer: AsyncCheckpointWriter?
    var providers: [any TrainerStateProvider] = []
    /// Provider state from a restored checkpoint, by key, for providers registered later.
    var restoredProviderState: [String: TrainerState] = [:]

    /// Where `run` starts: epoch, and steps of that epoch already done.
    var startEpoch = 0
    var startBatch = 0
    /// Rank 0's share of the resumed epoch's sums (the reduced sums at the save), and its skip count.
    var resumedEpochSums: (loss: Double, correct: Double, skipped: Int)?
    /// Train metrics recorded with an epoch-end checkpoint, for a resumed run with no epoch left.
    var resumedTrainMetrics: (loss: Double, accuracy: Double?)?

    /// The epoch in progress.
    var epoch = 0
    /// The epoch's running sums at the last step boundary (a skipped step goes back to them).
    var boundarySums = (loss: 0.0, correct: 0.0)
    /// Steps skipped for NaN/Inf in this epoch, and in the whole run.
    var skippedInEpoch = 0
    var skippedTotal = 0

    /// Agreed at the last step boundary: stop now, with a checkpoint (the largest stop code, or 0).
    var preemptionCode: Int64 = 0
    /// Agreed at the last step boundary: rank 0 failed to write a checkpoint.
    var writeFailureAgreed = false
    /// Rank 0's last checkpoint write error, until the ranks agree on it.
    var writeFailure: CheckpointError?

    let scan = NonFiniteScan()
}

/// Finds NaN and Inf in a buffer in fixed chunks on the pool (the chunk
/// results live in storage allocated once, so a step allocates nothing).
final class NonFiniteScan {
    private var chunkFlags: UnsafeMutablePointer<Bool>
    private var capacity = 1

    init() {
        chunkFlags = .allocate(capacity: 1)
    }

    deinit { chunkFlags.deallocate() }

    /// Whether any element of `buffer` is NaN or ±Inf.
    func containsNonFinite(_ buffer: FloatBuffer, pool: ThreadPool) -> Bool {
        containsNonFinite(UnsafeBufferPointer(start: buffer.pointer, count: buffer.count), pool: pool)
    }

    /// Whether any element of `buffer` is NaN or ±Inf.
    func containsNonFinite(_ buffer: UnsafeBufferPointer<Float>, pool: ThreadPool) -> Bool {
        guard let values = buffer.baseAddress else { return false }
        let grain = Elementwise.grain
        let chunks = (buffer.count + grain - 1) / grain
        if chunks > capacity {
            chunkFlags.deallocate()
            chunkFlags = .allocate(capacity: chunks)
            capacity = chunks
        }
        let flags = chunkFlags
        pool.parallelRanges(buffer.count, grain: grain, Scan(values: values, flags: flags, grain: grain))
        for chunk in 0..<chunks where flags[chunk] { return true }
        return false
    }
}

/// Chunks of `NonFiniteScan.containsNonFinite`.
private struct Scan: RangeJob {
    let values: UnsafePointer<Float>, flags: UnsafeMutablePointer<Bool>, grain: Int

    func run(_ range: Range<Int>) {
        flags[range.lowerBound / grain] = Elementwise.containsNonFinite(values + range.lowerBound, count: range.count)
    }
}
