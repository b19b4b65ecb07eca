// The flat parameter arena's layout (DESIGN.md 1): where each tensor of the
// model lives in the one contiguous Float32 buffer. Gradients and every
// optimizer state buffer use the same layout, so an optimizer step is one
// loop and a checkpoint is a few large writes.
//
// Per Dense layer l, in order: weight (in, out), bias (out), PReLU slopes (out),
// batch-norm scale γ and shift β (out each). A layer's tensors are contiguous:
// its arena range runs from its weight to the next layer's weight.
//
// A batch-normalized layer keeps its Dense bias so every layer has the same
// tensors (exporters and checkpoints need no special case), but the bias is
// redundant there: BN subtracts the batch mean, which cancels any bias exactly.
// The forward pass therefore skips it and the backward pass writes an exact
// zero gradient, so it stays at its initial 0 under every optimizer.

/// What a tensor of the arena is, for rules such as "no weight decay on biases".
public enum TensorRole: String, Codable, Sendable {
    case weight
    case bias
    case slope
    /// Batch-norm scale γ.
    case normalizationScale
    /// Batch-norm shift β.
    case normalizationShift
    /// Batch-norm running mean (a statistic, not a parameter: see `StatisticsLayout`).
    case runningMean
    /// Batch-norm running variance (a statistic, not a parameter).
    case runningVariance

    /// Whether weight decay and L1 apply by default: to weights only, never
    /// to biases and normalisation parameters (as in the usual recipes).
    public var isDecayedByDefault: Bool { self == .weight }
}

/// One named tensor inside the arena.
public struct TensorSlot: Codable, Sendable, Equatable {
    /// Stable name, e.g. `layers.0.weight`.
    public let name: String
    /// First element in the arena.
    public let offset: Int
    /// Row-major shape.
    public let shape: [Int]
    /// What the tensor is.
    public let role: TensorRole
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets of a batch-normalized layer's scale γ and shift β.
public struct NormalizationOffsets: Sendable, Equatable {
    public let scale: Int
    public let shift: Int
}

/// Offsets of one Dense layer's tensors.
public struct DenseOffsets: Sendable, Equatable {
    public let weight: Int
    /// Offset of the bias; unused (zero gradient) in a batch-normalized layer.
    public let bias: Int
    /// Offset of the PReLU slopes, when the layer has them.
    public let slope: Int?
    /// Offsets of γ and β, when the layer is batch-normalized.
    public let normalization: NormalizationOffsets?
}

/// Every tensor of a model laid out in one arena.
public struct ParameterLayout: Sendable, Equatable {
    /// Tensors in arena order.
    public let tensors: [TensorSlot]
    /// Per-layer offsets, in layer order.
    public let layers: [DenseOffsets]
    /// Total number of parameters.
    public let count: Int

    /// Lays out `spec`'s tensors. Each tensor starts on a 16-float (64-byte) boundary.
    public init(_ spec: ModelSpec) {
        var tensors: [TensorSlot] = []
        var layers: [DenseOffsets] = []
        var cursor = 0
        func place(_ name: String, _ shape: [Int], _ role: TensorRole) -> Int {
            let offset = cursor
            tensors.append(TensorSlot(name: name, offset: offset, shape: shape, role: role))
            cursor += (shape.reduce(1, *) + 15) / 16 * 16
            return offset
        }
        var fanIn = spec.inputWidth
        for (index, layer) in spec.layers.enumerated() {
            let weight = place("layers.\(index).weight", [fanIn, layer.width], .weight)
            let bias = place("layers.\(index).bias", [layer.width], .bias)
            let slope = layer.activation.hasPerNeuronParameter
                ? place("layers.\(index).slope", [layer.width], .slope) : nil
            let normalization = layer.normalization == nil ? nil : NormalizationOffsets(
                scale: place("layers.\(index).norm_scale", [layer.width], .normalizationScale),
                shift: place("layers.\(index).norm_shift", [layer.width], .normalizationShift))
            layers.append(DenseOffsets(weight: weight, bias: bias, slope: slope, normalization: normalization))
            fanIn = layer.width
        }
        self.tensors = tensors
        self.layers = layers
        self.count = cursor
    }
}
