// The trainer's own features in every checkpoint, through the state-provider
// hook: reduce-on-plateau's memory, early stopping's counters and best
// weights, and batch norm's running statistics. So a resumed run continues
// them exactly where the interrupted one stood.

import Engine
import Foundation
import Optimizers

/// Saves and restores the schedule state, early stopping and batch-norm statistics of a trainer.
final class FeatureState: TrainerStateProvider {
    let stateKey = "trainer"
    private unowned let trainer: Trainer

    init(_ trainer: Trainer) { self.trainer = trainer }

    func savedState() -> TrainerState {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata: [String: String] = [:]
        if let schedule = try? encoder.encode(trainer.scheduleState) {
            metadata["schedule"] = String(decoding: schedule, as: UTF8.self)
        }
        if let stopping = trainer.earlyStopping, let text = try? encoder.encode(stopping) {
            metadata["early_stopping"] = String(decoding: text, as: UTF8.self)
        }
        var tensors: [CheckpointTensor] = []
        let statistics = trainer.runningStatistics
        if statistics.count > 0 {
            tensors += trainer.network.statisticsLayout.tensors.map {
                CheckpointTensor(name: $0.name, shape: $0.shape, copying: statistics, offset: $0.offset)
            }
        }
        if let standardization = trainer.standardization {
            tensors.append(CheckpointTensor(name: "standardization_mean", shape: [standardization.mean.count], values: standardization.mean))
            tensors.append(CheckpointTensor(
                name: "standardization_std", shape: [standardization.standardDeviation.count], values: standardization.standardDeviation))
        }
        if let best = trainer.bestParameters {
            tensors.append(CheckpointTensor(name: "best_parameters", shape: [best.count], copying: best))
        }
        return TrainerState(metadata: metadata, tensors: tensors)
    }

    func restore(_ state: TrainerState) throws(TrainingError) {
        let decoder = JSONDecoder()
        if let text = state.metadata["schedule"] {
            guard let decoded = try? decoder.decode(LearningRateSchedule.State.self, from: Data(text.utf8)) else {
                throw .checkpoint("checkpoint state.trainer.schedule is not a schedule state: \(text)")
            }
            trainer.scheduleState = decoded
        }
        if let text = state.metadata["early_stopping"] {
            guard let decoded = try? decoder.decode(EarlyStopping.self, from: Data(text.utf8)) else {
                throw .checkpoint("checkpoint state.trainer.early_stopping is not an early-stopping state: \(text)")
            }
            trainer.earlyStopping = decoded
        }
        let statistics = trainer.runningStatistics
        for slot in trainer.network.statisticsLayout.tensors {
            guard let saved = state.tensor(named: slot.name) else { continue }
            guard saved.values.count == slot.count else {
                throw .checkpoint("checkpoint tensor state.trainer.\(slot.name) has \(saved.values.count) values, this model needs \(slot.count)")
            }
            saved.values.withUnsafeBufferPointer { values in
                if let base = values.baseAddress { (statistics.pointer + slot.offset).update(from: base, count: slot.count) }
            }
        }
        if let saved = state.tensor(named: "best_parameters") {
            guard saved.values.count == trainer.parameters.count else {
                throw .checkpoint("checkpoint tensor state.trainer.best_parameters has \(saved.values.count) values, this model needs \(trainer.parameters.count)")
            }
            trainer.bestParameters = FloatBuffer(saved.values)
        }
    }
}
