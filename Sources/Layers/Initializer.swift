// Weight initialisers. Fan-in/fan-out follow PyTorch's torch.nn.init:
//   Xavier/Glorot:  normal σ = √(2/(fan_in+fan_out)),  uniform a = √(6/(fan_in+fan_out))
//   Kaiming/He:     normal σ = √(2/fan_in),            uniform a = √(6/fan_in)
// Every value is drawn from the counter-based generator addressed by
// (seed, initialization, layer, element index), so a weight's initial value
// depends on nothing else.

import Engine

/// How the weights of a Dense layer start. Biases start at zero.
public enum Initializer: Codable, Sendable, Equatable {
    case zeros
    case constant(Float)
    case normal(standardDeviation: Float)
    case uniform(limit: Float)
    case xavierNormal
    case xavierUniform
    case heNormal
    case heUniform

    /// Names accepted by `--init`.
    public static let names = [
        "zeros", "constant(v)", "normal(σ)", "uniform(a)", "xavier-normal", "xavier-uniform", "he-normal", "he-uniform",
    ]

    /// The initialiser a name stands for (`he-uniform`, `normal(0.01)`, ...), or nil.
    public init?(name text: String) {
        let lowered = text.lowercased()
        var name = lowered
        var parameter: Float?
        if let open = lowered.firstIndex(of: "("), lowered.hasSuffix(")") {
            name = String(lowered[..<open])
            guard let value = Float(lowered[lowered.index(after: open)..<lowered.index(before: lowered.endIndex)]),
                  value.isFinite else { return nil }
            parameter = value
        }
        switch (name, parameter) {
        case ("zeros", nil): self = .zeros
        case ("constant", let value?): self = .constant(value)
        case ("normal", let sigma): self = .normal(standardDeviation: sigma ?? 0.01)
        case ("uniform", let limit): self = .uniform(limit: limit ?? 0.05)
        case ("xavier-normal", nil), ("glorot-normal", nil): self = .xavierNormal
        case ("xavier-uniform", nil), ("glorot-uniform", nil), ("xavier", nil), ("glorot", nil): self = .xavierUniform
        case ("he-normal", nil), ("kaiming-normal", nil): self = .heNormal
        case ("he-uniform", nil), ("kaiming-uniform", nil), ("he", nil), ("kaiming", nil): self = .heUniform
        default: return nil
        }
    }

    /// The default for a layer followed by `activation`: He for the ReLU
    /// family, Xavier for the saturating and linear ones.
    public static func `default`(for activation: Activation) -> Initializer {
        switch activation {
        case .relu, .leakyReLU, .prelu, .elu, .gelu, .silu: return .heUniform
        case .identity, .sigmoid, .tanh, .softplus: return .xavierUniform
        }
    }

    /// Fills `weights` (fanIn, fanOut) for layer `layer` of a run seeded by `rng`.
    public func fill(
        _ weights: UnsafeMutableBufferPointer<Float>, fanIn: Int, fanOut: Int, layer: Int, rng: CounterRNG
    ) {
        let stream = UInt32(layer)
        func uniform(_ limit: Float) {
            for i in 0..<weights.count {
                weights[i] = (2 * rng.uniform(.initialization, stream: stream, index: UInt64(i)) - 1) * limit
            }
        }
        func normal(_ sigma: Float) {
            for i in 0..<weights.count {
                weights[i] = rng.normal(.initialization, stream: stream, index: UInt64(i)) * sigma
            }
        }
        let fanSum = Float(fanIn + fanOut)
        switch self {
        case .zeros: weights.update(repeating: 0)
        case .constant(let value): weights.update(repeating: value)
        case .normal(let sigma): normal(sigma)
        case .uniform(let limit): uniform(limit)
        case .xavierNormal: normal((2 / fanSum).squareRoot())
        case .xavierUniform: uniform((6 / fanSum).squareRoot())
        case .heNormal: normal((2 / Float(fanIn)).squareRoot())
        case .heUniform: uniform((6 / Float(fanIn)).squareRoot())
        }
    }
}
