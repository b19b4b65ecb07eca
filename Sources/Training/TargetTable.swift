// TargetTable: a dataset's targets in the form the loss consumes.
//
// Class labels stay labels for cross-entropy and multiclass hinge. For the
// value losses they become values: one output and at most two classes → the
// label itself (0/1; hinge reads 0 as −1); k outputs and k classes → one-hot.

import Datasets
import Engine

/// Targets of every row of a dataset, ready for `Loss.evaluate`.
enum TargetTable {
    case labels([Int32])
    case values(FloatBuffer, width: Int)

    /// Converts `dataset`'s targets for `loss` with `outputs` logits, or explains the mismatch.
    static func prepare(_ dataset: Dataset, loss: Loss, outputs: Int) throws(TrainingError) -> TargetTable {
        switch dataset.targets {
        case .classes(let labels, let classCount):
            if loss.usesClassLabels {
                if classCount > outputs {
                    throw .dataMismatch(
                        "\(dataset.name) has \(classCount) classes but the model's output layer has \(outputs) units")
                }
                return .labels(labels)
            }
            let values = FloatBuffer(count: labels.count * outputs)
            if outputs == 1 && classCount <= 2 {
                for (row, label) in labels.enumerated() { values[row] = Float(label) }
            } else if outputs == classCount {
                for (row, label) in labels.enumerated() { values[row * outputs + Int(label)] = 1 }
            } else {
                throw .dataMismatch(
                    "loss '\(loss.name)' needs \(outputs) target values per row but \(dataset.name) has \(classCount) class labels; "
                        + "use an output layer of \(classCount == 2 ? "1 or 2" : "\(classCount)") units")
            }
            return .values(values, width: outputs)
        case .values(let buffer, let width):
            if loss.usesClassLabels {
                throw .dataMismatch(
                    "loss '\(loss.name)' needs class labels but \(dataset.name) has real-valued targets; use mse, mae, huber or smooth-l1")
            }
            if width != outputs {
                throw .dataMismatch(
                    "\(dataset.name) has \(width) target values per row but the model's output layer has \(outputs) units")
            }
            return .values(buffer, width: width)
        }
    }
}
