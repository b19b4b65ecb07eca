// AsyncCheckpointWriter: saves checkpoints on a background thread so the
// training ranks wait only for the copy of the arena (issue 5, item 2).
//
// The caller builds a `Checkpoint` from copies of its buffers
// (`CheckpointTensor.slices(of:layout:prefix:)` copies) — that copy is the only
// work it waits for — and hands it to `submit`, which returns at once. One
// serial queue writes the files in submission order through
// `CheckpointDirectory.save`. At most one save is queued or running: a
// `submit` while the previous save is still running waits for it first, so
// memory never holds more than one snapshot besides the arena.

import Dispatch
import Synchronization

/// Writes checkpoints into a run directory on a background thread.
public final class AsyncCheckpointWriter: Sendable {
    /// Where the checkpoints go.
    public let directory: CheckpointDirectory
    /// How many of the newest checkpoints retention keeps (plus the best).
    public let keep: Int
    /// Whether a smaller or a larger metric is better.
    public let goal: MetricGoal

    private let queue = DispatchQueue(label: "dptrain.checkpoint-writer")
    private let pending = DispatchGroup()
    private let outcome = Mutex<Outcome>(Outcome())

    private struct Outcome {
        var lastPath: String?
        var lastError: CheckpointError?
        var written = 0
    }

    /// A writer into `directory` keeping the newest `keep` checkpoints plus the best by `goal`.
    public init(directory: CheckpointDirectory, keep: Int, goal: MetricGoal = .minimize) {
        precondition(keep >= 1, "keep must be at least 1, got \(keep)")
        self.directory = directory
        self.keep = keep
        self.goal = goal
    }

    /// Queues `checkpoint` (and its validation `metric`, if any) for saving and returns;
    /// waits only if the previous save is still running.
    public func submit(_ checkpoint: Checkpoint, metric: Double? = nil) {
        pending.wait()
        queue.async(group: pending) { [self] in
            let result = Result { () throws(CheckpointError) in
                try directory.save(checkpoint, keep: keep, metric: metric, goal: goal)
            }
            outcome.withLock { outcome in
                switch result {
                case .success(let path):
                    outcome.lastPath = path
                    outcome.lastError = nil
                    outcome.written += 1
                case .failure(let error):
                    outcome.lastError = error
                }
            }
        }
    }

    /// Waits until every submitted checkpoint is saved, then throws the last save's error if it failed.
    public func waitForPending() throws(CheckpointError) {
        pending.wait()
        if let error = lastError { throw error }
    }

    /// The error of the last save, or nil if it succeeded (or none finished yet).
    public var lastError: CheckpointError? { outcome.withLock { $0.lastError } }
    /// The path of the last checkpoint saved successfully.
    public var lastSavedPath: String? { outcome.withLock { $0.lastPath } }
    /// How many checkpoints were saved successfully.
    public var savedCount: Int { outcome.withLock { $0.written } }
}
