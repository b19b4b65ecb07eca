// An independent plain-Double model of the network and every loss, for the
// gradient checks. Written from the textbook definitions (PyTorch's for the
// losses, Ioffe & Szegedy 2015 Alg. 1 for batch normalization, Srivastava et
// al. 2014 with inverted scaling for dropout), not from the Engine kernels:
// no stable-evaluation tricks, no fused gradients, just the functions.
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
        /// Offsets of γ and β, and ε, for a batch-normalized layer.
        var normalization: (scale: Int, shift: Int, epsilon: Double)?
        /// Offsets of the running mean and variance in the statistics buffer.
        var statistics: (mean: Int, variance: Int)?
    }

    /// How the forward pass treats batch normalization and dropout.
    enum Mode {
        /// Batch statistics; `masks[l]` (rows × width, entries 0 or 1/(1 − p))
        /// multiplies layer l's activation. A layer without a mask is not dropped.
        case training(masks: [Int: [[Double]]])
        /// Running statistics (a statistics buffer as Double); no dropout.
        case evaluation(statistics: [Double])
    }

    /// What a forward pass computed.
    struct Pass {
        var logits: [[Double]]
        /// Per layer, the activation's input (rows × width).
        var preActivations: [[[Double]]]
        /// Per batch-normalized layer, the batch mean and biased variance of the Dense output.
        var batchMean: [Int: [Double]] = [:]
        var batchVariance: [Int: [Double]] = [:]
    }

    var layers: [Layer] = []
    /// The arena as Double; perturb entries here for finite differences.
    var parameters: [Double]

    init(_ network: Network, parameters arena: FloatBuffer) {
        parameters = arena.array.map(Double.init)
        let tensors = Dictionary(uniqueKeysWithValues: network.layout.tensors.map { ($0.name, $0) })
        let statistics = Dictionary(uniqueKeysWithValues: network.statisticsLayout.tensors.map { ($0.name, $0) })
        var fanIn = network.spec.inputWidth
        for (index, spec) in network.spec.layers.enumerated() {
            let weight = tensors["layers.\(index).weight"]!
            let bias = tensors["layers.\(index).bias"]!
            precondition(weight.shape == [fanIn, spec.width] && bias.shape == [spec.width], "unexpected tensor shapes")
            var layer = Layer(fanIn: fanIn, width: spec.width, activation: spec.activation,
                              weight: weight.offset, bias: bias.offset, slope: tensors["layers.\(index).slope"]?.offset)
            if let normalization = spec.normalization {
                let scale = tensors["layers.\(index).norm_scale"]!
                let shift = tensors["layers.\(index).norm_shift"]!
                let mean = statistics["layers.\(index).running_mean"]!
                let variance = statistics["layers.\(index).running_var"]!
                precondition([scale.shape, shift.shape, mean.shape, variance.shape].allSatisfy { $0 == [spec.width] },
                              "unexpected normalization shapes")
                layer.normalization = (scale.offset, shift.offset, Double(normalization.epsilon))
                layer.statistics = (mean.offset, variance.offset)
            }
            layers.append(layer)
            fanIn = spec.width
        }
    }

    /// Logits of every row and what the layers computed on the way. A
    /// batch-normalized layer has no Dense bias (BN would cancel it; the
    /// network documents it as unused).
    func forward(_ input: [[Double]], mode: Mode = .training(masks: [:])) -> Pass {
        var previous = input
        var pass = Pass(logits: [], preActivations: [])
        let m = input.count
        for (index, layer) in layers.enumerated() {
            var z = [[Double]](repeating: [Double](repeating: 0, count: layer.width), count: m)
            for i in 0..<m {
                for j in 0..<layer.width {
                    var sum = layer.normalization == nil ? parameters[layer.bias + j] : 0
                    for p in 0..<layer.fanIn { sum += previous[i][p] * parameters[layer.weight + p * layer.width + j] }
                    z[i][j] = sum
                }
            }
            if let normalization = layer.normalization, let statistics = layer.statistics {
                for j in 0..<layer.width {
                    let mean: Double
                    let variance: Double
                    switch mode {
                    case .training:
                        mean = z.reduce(0) { $0 + $1[j] } / Double(m)
                        variance = z.reduce(0) { $0 + ($1[j] - mean) * ($1[j] - mean) } / Double(m)
                        pass.batchMean[index, default: []].append(mean)
                        pass.batchVariance[index, default: []].append(variance)
                    case .evaluation(let running):
                        mean = running[statistics.mean + j]
                        variance = running[statistics.variance + j]
                    }
                    let gamma = parameters[normalization.scale + j]
                    let beta = parameters[normalization.shift + j]
                    for i in 0..<m {
                        z[i][j] = gamma * (z[i][j] - mean) / (variance + normalization.epsilon).squareRoot() + beta
                    }
                }
            }
            var a = z
            for i in 0..<m {
                for j in 0..<layer.width {
                    let slope = layer.slope.map { parameters[$0 + j] } ?? 0
                    a[i][j] = Reference.activate(layer.activation, z[i][j], slope: slope)
                }
            }
            if case .training(let masks) = mode, let mask = masks[index] {
                for i in 0..<m {
                    for j in 0..<layer.width { a[i][j] *= mask[i][j] }
                }
            }
            pass.preActivations.append(z)
            previous = a
        }
        pass.logits = pass.preActivations.last ?? input
        return pass
    }

    /// The mean of ℓ over the rows.
    func meanLoss(_ loss: Loss, input: [[Double]], targets: [Reference.Target], mode: Mode = .training(masks: [:])) -> Double {
        let logits = forward(input, mode: mode).logits
        var total = 0.0
        for i in logits.indices { total += Reference.loss(loss, logits: logits[i], target: targets[i]) }
        return total / Double(logits.count)
    }
}

extension Reference {
    /// The dropout mask of layer `layer` for `rows` rows from global position
    /// `firstPosition`, derived from the documented addressing (Dropout.swift):
    /// neuron j of position q is kept iff u ≥ p, u = (w >> 8)·2⁻²⁴ with w word
    /// j mod 4 of bits(.dropout, stream: epoch·256 + layer, index: q·⌈n/4⌉ + ⌊j/4⌋).
    /// Kept entries hold the Float network's scale 1/(1 − p).
    static func dropoutMask(
        rng: CounterRNG, epoch: Int, layer: Int, firstPosition: Int, rows: Int, width: Int, rate: Float
    ) -> [[Double]] {
        let blocks = (width + 3) / 4
        let stream = UInt32(epoch * 256 + layer)
        let kept = Double(1 / (1 - rate))
        return (0..<rows).map { i in
            (0..<width).map { j in
                let words = rng.bits(.dropout, stream: stream, index: UInt64((firstPosition + i) * blocks + j / 4))
                let u = Double(words[j % 4] >> 8) / 16_777_216
                return u >= Double(rate) ? kept : 0
            }
        }
    }

    /// Every dropout layer's mask for the micro-batch at `key`.
    static func dropoutMasks(_ spec: ModelSpec, key: MicroBatchKey, rows: Int) -> [Int: [[Double]]] {
        var masks: [Int: [[Double]]] = [:]
        for (index, layer) in spec.layers.enumerated() where layer.dropout != 0 {
            masks[index] = dropoutMask(rng: key.rng, epoch: key.epoch, layer: index, firstPosition: key.firstPosition,
                                       rows: rows, width: layer.width, rate: layer.dropout)
        }
        return masks
    }
}
