// Checkpoint+Arena: between the flat parameter arena (DESIGN.md 1) and named
// checkpoint tensors. Each slot of a ParameterLayout becomes one tensor with
// its own shape (`layers.0.weight`, (in, out)), so a numpy user loading the
// file sees the model's matrices, not one flat vector with padding. Buffers
// of the arena's layout (gradients, Adam's m and v) use the same names under
// a prefix, e.g. `adam.m.layers.0.weight`.

import Engine
import Layers

extension CheckpointTensor {
    /// Copies of every tensor of `layout` in `buffer` (the arena or a buffer of its layout),
    /// named `prefix` + the slot's name, in arena order.
    public static func slices(of buffer: FloatBuffer, layout: ParameterLayout, prefix: String = "") -> [CheckpointTensor] {
        precondition(buffer.count == layout.count, "buffer of \(buffer.count) floats does not have the layout's \(layout.count)")
        return layout.tensors.map { slot in
            CheckpointTensor(name: prefix + slot.name, shape: slot.shape, copying: buffer, offset: slot.offset)
        }
    }
}

extension Checkpoint {
    /// Copies the tensors named `prefix` + each slot's name into `buffer` at the slot's offset,
    /// after checking that every one exists with the slot's shape (nothing is copied otherwise).
    public func restore(into buffer: FloatBuffer, layout: ParameterLayout, prefix: String = "") throws(CheckpointError) {
        precondition(buffer.count == layout.count, "buffer of \(buffer.count) floats does not have the layout's \(layout.count)")
        let source = path ?? "checkpoint"
        var found: [(TensorSlot, CheckpointTensor)] = []
        for slot in layout.tensors {
            guard let tensor = tensor(named: prefix + slot.name) else {
                throw .missingTensor(path: source, name: prefix + slot.name)
            }
            guard tensor.shape == slot.shape else {
                throw .wrongTensorShape(path: source, name: tensor.name, found: tensor.shape, expected: slot.shape)
            }
            found.append((slot, tensor))
        }
        for (slot, tensor) in found {
            tensor.values.withUnsafeBufferPointer { values in
                if let base = values.baseAddress { (buffer.pointer + slot.offset).update(from: base, count: values.count) }
            }
        }
    }
}
