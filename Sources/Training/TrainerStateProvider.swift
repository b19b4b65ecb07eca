// TrainerStateProvider: the hook through which trainer features that keep
// state of their own — a learning-rate schedule's position, reduce-on-plateau
// and early-stopping counters, the best metric so far, BatchNorm running
// statistics — get that state into every checkpoint and back on resume,
// without the checkpoint code knowing them (DESIGN.md 5).
//
// How to plug in (e.g. for the plateau scheduler):
//
//   final class PlateauState: TrainerStateProvider {
//       let stateKey = "plateau"
//       func savedState() -> TrainerState {
//           TrainerState(metadata: ["best": "\(best)", "bad_epochs": "\(badEpochs)"])
//       }
//       func restore(_ state: TrainerState) throws(TrainingError) {
//           guard let text = state.metadata["best"] else { return }  // a checkpoint from before the feature
//           ...parse, throwing .checkpoint("...") on a malformed value...
//       }
//   }
//   trainer.register(plateau)   // before or after trainer.restore(from:)
//
// In the file, metadata entry `name` is stored as `state.<stateKey>.<name>` and
// tensor `name` as `state.<stateKey>.<name>` (BN statistics could use names like
// `layers.0.running_mean`, so a numpy user finds `state.bn.layers.0.running_mean`).
// `savedState()` is called on rank 0 at every save, at a step boundary; the
// state must be the same on every rank (it is, when it derives from agreed
// values such as the shared validation metric). `restore` is called on every
// rank with the same values. Doubles should be written with `"\(value)"`,
// which round-trips exactly.

/// A provider's part of a checkpoint: string values and Float32 tensors, by name.
public struct TrainerState: Sendable {
    /// Values by name (no `state.<key>.` prefix).
    public var metadata: [String: String]
    /// Tensors, named without the `state.<key>.` prefix.
    public var tensors: [CheckpointTensor]

    public init(metadata: [String: String] = [:], tensors: [CheckpointTensor] = []) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// Whether the checkpoint held nothing for this provider (it predates it).
    public var isEmpty: Bool { metadata.isEmpty && tensors.isEmpty }

    /// The tensor named `name`, if any.
    public func tensor(named name: String) -> CheckpointTensor? {
        tensors.first { $0.name == name }
    }
}

/// State besides the parameters and the optimizer buffers that a checkpoint must carry.
public protocol TrainerStateProvider: AnyObject {
    /// A unique key without dots, e.g. `schedule`, `plateau`, `early_stopping`, `bn`.
    var stateKey: String { get }
    /// The state to save now (rank 0, at a step boundary).
    func savedState() -> TrainerState
    /// Takes back the saved state on resume; empty when the checkpoint predates the provider.
    func restore(_ state: TrainerState) throws(TrainingError)
}
