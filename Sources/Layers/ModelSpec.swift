// ModelSpec: a feedforward network described as plain data.
//
// A person types it as `784-256:relu-128:relu-10:softmax`: the input width,
// then one `width:activation` per Dense layer. The last layer's activation
// names the output head (softmax, sigmoid or linear), which is fused with the
// loss. Activations with a parameter take it in parentheses:
// `leakyrelu(0.01)`, `prelu(0.25)`, `elu(1.0)`. The same structure is Codable
// for config files and checkpoints.

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

/// One Dense layer: `width` neurons followed by `activation`.
public struct LayerSpec: Codable, Sendable, Equatable {
    /// Number of neurons (outputs) of the layer.
    public var width: Int
    /// Nonlinearity after the affine map; the output layer's is `.identity` (the head follows).
    public var activation: Activation

    public init(width: Int, activation: Activation) {
        self.width = width
        self.activation = activation
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

    /// The spec in its typed form, e.g. `784-256:relu-10:softmax`.
    public var description: String {
        var parts = ["\(inputWidth)"]
        for (index, layer) in layers.enumerated() {
            let name = index == layers.count - 1 ? head.rawValue : ModelSpec.name(of: layer.activation)
            parts.append("\(layer.width):\(name)")
        }
        return parts.joined(separator: "-")
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
