// The buffers of one block of micro-batches: a subtree of the step's
// micro-batch tree whose forward and backward passes all run before their
// weight gradients are summed (Trainer.runBlock), so the sum happens inside
// the GEMM's tiles and reaches memory once.

import Engine
import Layers

public final class MicroBatchBlock {
    /// Most micro-batches in a block.
    let capacity: Int
    /// Per position: activations and layer gradients of the micro-batch.
    let workspaces: [Workspace]
    /// Per position: the micro-batch's input rows, (m, n_0).
    private(set) var inputs: [Matrix]
    /// Input rows no position holds: where the next micro-batch's rows are
    /// gathered in the background (`Trainer.inputs`) while this one runs.
    private(set) var spare: Matrix
    /// Per position: the micro-batch's tail gradients (`Network.tailCount` floats).
    let tails: [UnsafeMutablePointer<Float>]
    /// Per position: the micro-batch's batch-norm statistics (empty without batch norm).
    let statistics: [FloatBuffer]
    private let storage: [FloatBuffer]

    /// Bytes a block's buffers take at most by default (`RunOptions.blockBytes`).
    public static let defaultBytes = 64 << 20

    init(network: Network, rows: Int, capacity: Int) {
        self.capacity = capacity
        workspaces = (0..<capacity).map { _ in
            let workspace = Workspace(network: network, rows: rows)
            workspace.prepareBackward()
            return workspace
        }
        let inputBuffers = (0..<capacity).map { _ in FloatBuffer(count: rows * network.spec.inputWidth) }
        inputs = inputBuffers.map { Matrix($0, rows: rows, columns: network.spec.inputWidth) }
        let spareBuffer = FloatBuffer(count: rows * network.spec.inputWidth)
        spare = Matrix(spareBuffer, rows: rows, columns: network.spec.inputWidth)
        let tailBuffers = (0..<capacity).map { _ in FloatBuffer(count: network.tailCount) }
        tails = tailBuffers.map(\.pointer)
        statistics = (0..<capacity).map { _ in FloatBuffer(count: network.statisticsCount) }
        storage = inputBuffers + tailBuffers + [spareBuffer]
    }

    /// Puts the spare rows at position `index`; what was there becomes the spare.
    func swapSpare(into index: Int) {
        let held = inputs[index]
        inputs[index] = spare
        spare = held
    }

    /// Bytes one micro-batch's position in a block takes.
    static func bytesPerMicroBatch(network: Network, rows: Int) -> Int {
        let spec = network.spec
        var floats = rows * spec.inputWidth + network.tailCount + network.statisticsCount
        for layer in spec.layers {
            // Pre-activation, activation and layer gradient, plus dropout's mask
            // and output and batch norm's x̂.
            let copies = 3 + (layer.dropout != 0 ? 2 : 0) + (layer.normalization != nil ? 1 : 0)
            floats += copies * rows * layer.width
        }
        return 4 * floats
    }

    /// The largest block (at most `microBatches`, at least 1) whose buffers
    /// fit in `bytes`.
    static func capacity(network: Network, rows: Int, microBatches: Int, bytes: Int) -> Int {
        max(1, min(microBatches, bytes / bytesPerMicroBatch(network: network, rows: rows)))
    }
}
