// ModelSpec: a feedforward network described as plain data.
//
// A person types it as `784-256:relu-128:relu-10:softmax`: the input width,
// then one `width:activation` per Dense layer. The last layer's activation
// names the output head (softmax, sigmoid or linear), which is fused with the
// loss. Activations with a parameter take it in parentheses:
// `leakyrelu(0.01)`, `prelu(0.25)`, `elu(1.0)`. A hidden layer may add options
// after its activation: `:bn` (batch normalization between the Dense map and
// the activation, `bn(momentum)` or `bn(momentum,epsilon)`) and `:dropout(p)`
// (inverted dropout on the activation's output), e.g.
// `784-256:relu:bn-128:relu:dropout(0.2)-10:softmax`. The same structure is
// Codable for config files and checkpoints.

import Engine

/// The output head: how logits become predictions, fused with the loss.
public enum OutputHead: String, Codable, Sendable, CaseIterable {
    case softmax
    case sigmoid
    case linear

    /// The loss used when none is given.
    public var defaultLoss: Loss {
        switch self {
        case .softmax: return .crossEntropy
        case .sigmoid: return .binaryCrossEntropy
        case .linear: return .meanSquaredError
        }
    }

    /// Whether `loss` can follow this head.
    public func accepts(_ loss: Loss) -> Bool {
        switch (self, loss) {
        case (.softmax, .crossEntropy), (.sigmoid, .binaryCrossEntropy): return true
        case (.linear, .crossEntropy), (.linear, .binaryCrossEntropy): return false
        case (.linear, _): return true
        default: return false
        }
    }
}

/// One Dense layer: `width` neurons, optionally batch-normalized, followed by
/// `activation`, optionally followed by dropout.
public struct LayerSpec: Codable, Sendable, Equatable {
    /// Number of neurons (outputs) of the layer.
    public var width: Int
    /// Nonlinearity after the affine map; the output layer's is `.identity` (the head follows).
    public var activation: Activation
    /// Batch normalization between the Dense map and the activation, or nil.
    public var normalization: BatchNormalization?
    /// Dropout rate p ∈ [0, 1) applied to the activation's output in training; 0 means none.
    public var dropout: Float

    public init(width: Int, activation: Activation, normalization: BatchNormalization? = nil, dropout: Float = 0) {
        self.width = width
        self.activation = activation
        self.normalization = normalization
        self.dropout = dropout
    }

    private enum CodingKeys: String, CodingKey {
        case width, activation, normalization, dropout
    }

    // Specs written before batch normalization and dropout existed have
    // neither key; they decode as plain layers.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        width = try container.decode(Int.self, forKey: .width)
        activation = try container.decode(Activation.self, forKey: .activation)
        normalization = try container.decodeIfPresent(BatchNormalization.self, forKey: .normalization)
        dropout = try container.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(width, forKey: .width)
        try container.encode(activation, forKey: .activation)
        try container.encodeIfPresent(normalization, forKey: .normalization)
        if dropout != 0 { try container.encode(dropout, forKey: .dropout) }
    }
}

/// A whole network: input width, Dense layers, output head.
public struct ModelSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Features per input row.
    public var inputWidth: Int
    /// The Dense layers in order; the last one produces the logits.
    public var layers: [LayerSpec]
    /// The output head applied to the last layer's logits.
    public var head: OutputHead

    public init(inputWidth: Int, layers: [LayerSpec], head: OutputHead) {
        self.inputWidth = inputWidth
        self.layers = layers
        self.head = head
    }

    /// Width of the logits.
    public var outputWidth: Int { layers.last?.width ?? inputWidth }

    /// Whether some layer is batch-normalized (the network then has running statistics).
    public var usesBatchNormalization: Bool { layers.contains { $0.normalization != nil } }

    /// Whether some layer has dropout (training forwards then need a `MicroBatchKey`).
    public var usesDropout: Bool { layers.contains { $0.dropout != 0 } }

    /// The spec in its typed form, e.g. `784-256:relu:bn-128:relu:dropout(0.2)-10:softmax`.
    public var description: String {
        var parts = ["\(inputWidth)"]
        for (index, layer) in layers.enumerated() {
            let name = index == layers.count - 1 ? head.rawValue : ModelSpec.name(of: layer.activation)
            var part = "\(layer.width):\(name)"
            if let normalization = layer.normalization { part += ":\(normalization.specName)" }
            if layer.dropout != 0 { part += ":dropout(\(layer.dropout))" }
            parts.append(part)
        }
        return parts.joined(separator: "-")
    }

    /// The same model with dropout rate `rate` on every hidden layer that has
    /// no rate of its own (a global `--dropout`, as in Keras examples); the
    /// output layer never has dropout.
    public func withDropout(_ rate: Float) throws(ModelSpecError) -> ModelSpec {
        guard rate >= 0 && rate < 1 else {
            throw ModelSpecError("model spec '\(self)': dropout rate \(rate) for the hidden layers must be in [0, 1)")
        }
        var copy = self
        for index in copy.layers.indices.dropLast() where copy.layers[index].dropout == 0 {
            copy.layers[index].dropout = rate
        }
        return copy
    }

    /// The spelling of an activation in a spec.
    public static func name(of activation: Activation) -> String {
        switch activation {
        case .identity: return "linear"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .relu: return "relu"
        case .leakyReLU(let slope): return "leakyrelu(\(slope))"
        case .prelu(let slope): return "prelu(\(slope))"
        case .elu(let alpha): return "elu(\(alpha))"
        case .softplus: return "softplus"
        case .gelu: return "gelu"
        case .silu: return "silu"
        }
    }
}
