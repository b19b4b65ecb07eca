// An independent plain-Double model of the network and every loss, for the
// gradient checks. Written from the textbook definitions (PyTorch's for the
// losses), not from the Engine kernels: no stable-evaluation tricks, no fused
// gradients, just the functions.
//
// Legend: m = rows, k = outputs. Weights are (in, out) row-major, as in the arena.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Engine
import Layers

enum Reference {
    /// f(x) for an activation; `slope` is the PReLU slope of the neuron.
    static func activate(_ activation: Activation, _ x: Double, slope: Double) -> Double {
        switch activation {
        case .identity: return x
        case .sigmoid: return 1 / (1 + exp(-x))
        case .tanh: return tanh(x)
        case .relu: return max(x, 0)
        case .leakyReLU(let gamma): return x > 0 ? x : Double(gamma) * x
        case .prelu: return x > 0 ? x : slope * x
        case .elu(let gamma): return x > 0 ? x : Double(gamma) * (exp(x) - 1)
        case .softplus: return log(1 + exp(x))
        case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .silu: return x / (1 + exp(-x))
        }
    }

    /// Whether f has a kink at 0 that finite differences must stay away from.
    static func hasKinkAtZero(_ activation: Activation) -> Bool {
        switch activation {
        case .relu, .leakyReLU, .prelu, .elu: return true
        default: return false
        }
    }

    /// The targets of one row: a class label or k values.
    enum Target {
        case label(Int)
        case values([Double])
    }

    /// ℓ for one row of logits z.
    static func loss(_ loss: Loss, logits z: [Double], target: Target) -> Double {
        let k = Double(z.count)
        switch (loss, target) {
        case (.crossEntropy, .label(let y)):
            let p = z.map(exp)
            return -log(p[y] / p.reduce(0, +))
        case (.multiclassHinge, .label(let y)):
            var total = 0.0
            for j in z.indices where j != y { total += max(0, 1 - z[y] + z[j]) }
            return total / k
        case (_, .values(let t)):
            var total = 0.0
            for j in z.indices {
                let d = z[j] - t[j]
                switch loss {
                case .binaryCrossEntropy:
                    let p = 1 / (1 + exp(-z[j]))
                    total += -(t[j] * log(p) + (1 - t[j]) * log(1 - p))
                case .meanSquaredError: total += d * d
                case .meanAbsoluteError: total += abs(d)
                case .huber(let delta):
                    let delta = Double(delta)
                    total += abs(d) < delta ? 0.5 * d * d : delta * (abs(d) - 0.5 * delta)
                case .smoothL1(let beta):
                    let beta = Double(beta)
                    total += abs(d) < beta ? 0.5 * d * d / beta : abs(d) - 0.5 * beta
                case .hinge:
                    total += max(0, 1 - t[j] * z[j])
                case .crossEntropy, .multiclassHinge:
                    preconditionFailure("class-label loss with value targets")
                }
            }
            return total / k
        default:
            preconditionFailure("\(loss) with \(target)")
        }
    }

    /// Distance of one row from the nearest point where ℓ is not differentiable
    /// (∞ for smooth losses), and which side of each branch it is on.
    static func kinks(_ loss: Loss, logits z: [Double], target: Target) -> [Double] {
        switch (loss, target) {
        case (.multiclassHinge, .label(let y)):
            return z.indices.filter { $0 != y }.map { 1 - z[y] + z[$0] }
        case (.meanAbsoluteError, .values(let t)):
            return z.indices.map { z[$0] - t[$0] }
        case (.hinge, .values(let t)):
            return z.indices.map { 1 - t[$0] * z[$0] }
        case (.huber(let delta), .values(let t)):
            return z.indices.map { abs(z[$0] - t[$0]) - Double(delta) }
        case (.smoothL1(let beta), .values(let t)):
            return z.indices.map { abs(z[$0] - t[$0]) - Double(beta) }
        default:
            return []
        }
    }
}

/// The network's function in Double, reading its parameters out of an arena
/// copy by tensor name.
struct ReferenceNetwork {
    struct Layer {
        var fanIn: Int
        var width: Int
        var activation: Activation
        var weight: Int  // offsets into `parameters`
        var bias: Int
        var slope: Int?
    }

    var layers: [Layer] = []
    /// The arena as Double; perturb entries here for finite differences.
    var parameters: [Double]

    init(_ network: Network, parameters arena: FloatBuffer) {
        parameters = arena.array.map(Double.init)
        let tensors = Dictionary(uniqueKeysWithValues: network.layout.tensors.map { ($0.name, $0) })
        var fanIn = network.spec.inputWidth
        for (index, spec) in network.spec.layers.enumerated() {
            let weight = tensors["layers.\(index).weight"]!
            let bias = tensors["layers.\(index).bias"]!
            precondition(weight.shape == [fanIn, spec.width] && bias.shape == [spec.width], "unexpected tensor shapes")
            layers.append(Layer(fanIn: fanIn, width: spec.width, activation: spec.activation,
                                weight: weight.offset, bias: bias.offset, slope: tensors["layers.\(index).slope"]?.offset))
            fanIn = spec.width
        }
    }

    /// Logits of every row, and every layer's pre-activations z (rows × width).
    func forward(_ input: [[Double]]) -> (logits: [[Double]], preActivations: [[[Double]]]) {
        var previous = input
        var preActivations: [[[Double]]] = []
        for layer in layers {
            var z = [[Double]](repeating: [Double](repeating: 0, count: layer.width), count: previous.count)
            var a = z
            for i in previous.indices {
                for j in 0..<layer.width {
                    var sum = parameters[layer.bias + j]
                    for p in 0..<layer.fanIn { sum += previous[i][p] * parameters[layer.weight + p * layer.width + j] }
                    z[i][j] = sum
                    let slope = layer.slope.map { parameters[$0 + j] } ?? 0
                    a[i][j] = Reference.activate(layer.activation, sum, slope: slope)
                }
            }
            preActivations.append(z)
            previous = a
        }
        return (preActivations.last ?? input, preActivations)
    }

    /// The mean of ℓ over the rows.
    func meanLoss(_ loss: Loss, input: [[Double]], targets: [Reference.Target]) -> Double {
        let logits = forward(input).logits
        var total = 0.0
        for i in logits.indices { total += Reference.loss(loss, logits: logits[i], target: targets[i]) }
        return total / Double(logits.count)
    }
}
