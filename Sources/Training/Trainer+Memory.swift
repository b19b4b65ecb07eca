// What a trainer holds, by kind: parameters × the buffers kept per parameter,
// activations and data, which bench sets beside the measured peak RSS.
// Nothing here grows with steps.

import Datasets
import Engine
import Layers

/// A trainer's buffers in bytes, by kind.
public struct MemoryAccount: Codable, Sendable, Equatable {
    /// Buffers of one float per parameter: the arena, the gradient sums (one
    /// per level of the micro-batch tree), the optimizer's state and, when
    /// the ranks sum in node-shared memory, the gradient's inbox (one buffer
    /// per other rank of the node).
    public var parameterBuffers: Int
    /// Bytes of one of them.
    public var bytesPerParameterBuffer: Int
    /// A block of micro-batches' activations, layer gradients and input rows, and the evaluation workspace.
    public var activationBytes: Int
    /// The datasets' features and targets.
    public var dataBytes: Int

    public var totalBytes: Int { parameterBuffers * bytesPerParameterBuffer + activationBytes + dataBytes }
}

extension Trainer {
    /// This trainer's buffers by kind.
    public var memory: MemoryAccount {
        let blockBytes = block.capacity * MicroBatchBlock.bytesPerMicroBatch(network: network, rows: config.microBatchSize)
            + 4 * config.microBatchSize * network.spec.inputWidth
        var datasets: [ObjectIdentifier: Dataset] = [:]
        for dataset in [train, test, validation].compactMap({ $0 }) { datasets[ObjectIdentifier(dataset)] = dataset }
        return MemoryAccount(
            parameterBuffers: 1 + gradientSlots.count + optimizer.state.count + (bestParameters == nil ? 0 : 1)
                + (usesNodeSharedMemory ? communicator.size - 1 : 0),
            bytesPerParameterBuffer: 4 * network.parameterCount,
            activationBytes: blockBytes + MicroBatchBlock.bytesPerMicroBatch(network: network, rows: config.evaluationBatchSize),
            dataBytes: datasets.values.reduce(0) { $0 + $1.byteCount })
    }
}

extension Dataset {
    /// Bytes of the features and the targets.
    var byteCount: Int {
        switch targets {
        case .classes(let labels, _): return 4 * (features.count + labels.count)
        case .values(let values, _): return 4 * (features.count + values.count)
        }
    }
}
