// Errors a user can cause while setting up or running training. Each renders
// as one line that names the option, file or value at fault.

import Datasets

/// A failure of a training run that the user can fix.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// An option or config value is out of range or inconsistent.
    case invalidOption(String)
    /// The data does not fit the model or the loss.
    case dataMismatch(String)
    /// A dataset file or directory does not exist.
    case missingData(String)
    /// A dataset file is malformed.
    case dataset(String)
    /// A collective operation failed.
    case communication(String)
    /// A checkpoint to resume from is damaged, missing, or belongs to another run.
    case checkpoint(String)
    /// A checkpoint or run-directory file cannot be written; earlier checkpoints are intact.
    case checkpointWrite(String)
    /// Every rank stopped at a step boundary on a signal, after the checkpoint was saved.
    case preempted(String)
    /// The loss or the gradient became NaN or Inf under `--nan stop`.
    case nonFinite(String)

    public var description: String {
        switch self {
        case .invalidOption(let message), .dataMismatch(let message), .missingData(let message), .dataset(let message),
             .communication(let message), .checkpoint(let message), .checkpointWrite(let message),
             .preempted(let message), .nonFinite(let message):
            return message
        }
    }
}
