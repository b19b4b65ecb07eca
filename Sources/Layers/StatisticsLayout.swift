// The running statistics of batch normalization: per batch-normalized layer,
// a running mean and a running variance (n each). They are not parameters (no
// gradient, no optimizer), so they live in a small buffer of their own, laid
// out like the arena: 16-float aligned tensors in layer order. The same layout
// serves a micro-batch's batch statistics (its mean and unbiased variance),
// which the trainer averages before `Network.updateRunningStatistics`.

/// Offsets of one batch-normalized layer's mean and variance.
public struct StatisticsOffsets: Sendable, Equatable {
    public let mean: Int
    public let variance: Int
}

/// Where every batch-normalized layer's statistics live in the statistics buffer.
public struct StatisticsLayout: Sendable, Equatable {
    /// Tensors in buffer order (`layers.1.running_mean`, `layers.1.running_var`, ...).
    public let tensors: [TensorSlot]
    /// Per layer, in layer order: the offsets, or nil for a layer without batch normalization.
    public let layers: [StatisticsOffsets?]
    /// Total number of floats (0 when no layer is batch-normalized).
    public let count: Int

    public init(_ spec: ModelSpec) {
        var tensors: [TensorSlot] = []
        var cursor = 0
        func place(_ name: String, _ width: Int, _ role: TensorRole) -> Int {
            let offset = cursor
            tensors.append(TensorSlot(name: name, offset: offset, shape: [width], role: role))
            cursor += (width + 15) / 16 * 16
            return offset
        }
        layers = spec.layers.enumerated().map { index, layer in
            guard layer.normalization != nil else { return nil }
            return StatisticsOffsets(
                mean: place("layers.\(index).running_mean", layer.width, .runningMean),
                variance: place("layers.\(index).running_var", layer.width, .runningVariance))
        }
        self.tensors = tensors
        self.count = cursor
    }
}
