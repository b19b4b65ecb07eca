// Gradient checks: Network.backward (Float), fed the loss kernel's dL/dz with
// scale 1/B, against central differences of the independent Double model in
// ReferenceNetwork.swift, for every parameter (weights, biases, PReLU slopes,
// batch-norm γ and β), every activation and every loss, and with dropout
// (the same fixed mask in both models, derived from CounterRNG) and batch
// normalization in training mode. Data are drawn until every pre-activation
// and loss argument is at least `clearance` away from a kink, so the finite
// differences never straddle one.

import Engine
import Layers
import Testing

/// A small network and a loss: 5-4:act-3:act-k:head, or Dense only; the
/// hidden layers optionally batch-normalized and with dropout.
struct GradientCase: CustomTestStringConvertible, Sendable {
    var hidden: [Activation]
    var outputs: Int
    var head: OutputHead
    var loss: Loss
    var normalization: BatchNormalization? = nil
    var dropout: Float = 0

    var spec: ModelSpec {
        let widths = [4, 3]
        var layers = zip(widths, hidden).map {
            LayerSpec(width: $0, activation: $1, normalization: normalization, dropout: dropout)
        }
        layers.append(LayerSpec(width: outputs, activation: .identity))
        return ModelSpec(inputWidth: 5, layers: layers, head: head)
    }

    var testDescription: String { "\(spec) with \(loss.name)" }
}

/// Parameters, inputs and targets for one case, drawn from `seed`.
struct GradientProblem {
    static let rows = 6
    static let clearance = 0.01

    let network: Network
    let parameters: FloatBuffer
    let input: FloatBuffer  // (m, n_0)
    let labels: [Int32]  // (m)
    let values: FloatBuffer  // (m, k)
    let inputRows: [[Double]]
    let targets: [Reference.Target]
    /// Where the micro-batch sits, and the dropout masks that address gives.
    let key = MicroBatchKey(rng: CounterRNG(seed: 99), epoch: 2, firstPosition: 40)
    let masks: [Int: [[Double]]]

    /// nil when some pre-activation or loss argument sits near a kink, or a
    /// branch of a piecewise loss goes untested.
    init?(_ gradientCase: GradientCase, seed: UInt64) {
        let m = Self.rows
        let k = gradientCase.outputs
        network = Network(gradientCase.spec)
        parameters = FloatBuffer(count: network.parameterCount)
        network.initialize(parameters, rng: CounterRNG(seed: seed))
        var generator = SplitMix64(seed: seed)
        for (index, offsets) in network.layout.layers.enumerated() {
            let width = network.spec.layers[index].width
            for j in 0..<width { parameters.pointer[offsets.bias + j] = generator.uniform(-0.5, 0.5) }
            if let slope = offsets.slope {
                for j in 0..<width { parameters.pointer[slope + j] = generator.uniform(0.05, 0.45) }
            }
            if let normalization = offsets.normalization {
                for j in 0..<width {
                    parameters.pointer[normalization.scale + j] = generator.uniform(0.5, 1.5)
                    parameters.pointer[normalization.shift + j] = generator.uniform(-0.5, 0.5)
                }
            }
        }
        // Wider logits, so hinge margins and Huber/smooth-L1 errors fall on both sides.
        let last = network.layout.layers.count - 1
        let fanIn = last == 0 ? network.spec.inputWidth : network.spec.layers[last - 1].width
        for i in 0..<(fanIn * k) { parameters.pointer[network.layout.layers[last].weight + i] *= 2 }

        input = FloatBuffer(count: m * network.spec.inputWidth)
        for i in 0..<input.count { input.pointer[i] = generator.uniform(-1.5, 1.5) }
        var labels: [Int32] = []
        let values = FloatBuffer(count: m * k)
        var targets: [Reference.Target] = []
        for i in 0..<m {
            switch gradientCase.loss {
            case .crossEntropy, .multiclassHinge:
                let label = generator.below(k)
                labels.append(Int32(label))
                targets.append(.label(label))
            default:
                for j in 0..<k {
                    let value: Float
                    switch gradientCase.loss {
                    case .binaryCrossEntropy: value = k == 1 ? Float(generator.below(2)) : [0, 1, 0.3, 0.8][generator.below(4)]
                    case .hinge: value = generator.below(2) == 0 ? -1 : 1
                    default: value = generator.uniform(-1.5, 1.5)
                    }
                    values.pointer[i * k + j] = value
                }
                targets.append(.values((0..<k).map { Double(values.pointer[i * k + $0]) }))
            }
        }
        self.labels = labels
        self.values = values
        self.targets = targets
        let width = gradientCase.spec.inputWidth
        let inputValues = input.array.map(Double.init)
        let inputRows = (0..<m).map { i in Array(inputValues[(i * width)..<((i + 1) * width)]) }
        self.inputRows = inputRows

        // Reject draws near a kink; require both sides of every kink to occur.
        masks = Reference.dropoutMasks(gradientCase.spec, key: key, rows: m)
        let reference = ReferenceNetwork(network, parameters: parameters)
        let loss = gradientCase.loss
        let pass = reference.forward(inputRows, mode: .training(masks: masks))
        let (logits, preActivations) = (pass.logits, pass.preActivations)
        for (index, layer) in gradientCase.spec.layers.enumerated() where Reference.hasKinkAtZero(layer.activation) {
            let z = preActivations[index].flatMap { $0 }
            if !Self.bothSidesClear(z) { return nil }
        }
        let kinks = zip(logits, targets).flatMap { Reference.kinks(loss, logits: $0, target: $1) }
        if !kinks.isEmpty && !Self.bothSidesClear(kinks) { return nil }
    }

    /// Every value at least `clearance` from 0, and both signs present.
    static func bothSidesClear(_ values: [Double]) -> Bool {
        values.allSatisfy { abs($0) >= clearance } && values.contains { $0 < 0 } && values.contains { $0 > 0 }
    }

    /// The first seed from 1 whose draw is clear of every kink.
    static func first(_ gradientCase: GradientCase) -> GradientProblem? {
        for seed in UInt64(1)...200 {
            if let problem = GradientProblem(gradientCase, seed: seed) { return problem }
        }
        return nil
    }
}

@Suite("Network gradient checks")
struct NetworkGradientTests {
    static let allActivations: [Activation] = [
        .sigmoid, .tanh, .relu, .leakyReLU(slope: 0.1), .prelu(initialSlope: 0.25), .elu(alpha: 0.5), .softplus, .gelu,
        .silu, .identity,
    ]

    static let activationCases = allActivations.map {
        GradientCase(hidden: [$0, $0], outputs: 3, head: .softmax, loss: .crossEntropy)
    }

    static let lossCases: [GradientCase] = [
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 3, head: .softmax, loss: .crossEntropy),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 1, head: .sigmoid, loss: .binaryCrossEntropy),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 3, head: .sigmoid, loss: .binaryCrossEntropy),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 2, head: .linear, loss: .meanSquaredError),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 2, head: .linear, loss: .meanAbsoluteError),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 2, head: .linear, loss: .huber(delta: 0.5)),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 2, head: .linear, loss: .smoothL1(beta: 0.5)),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 1, head: .linear, loss: .hinge),
        GradientCase(hidden: [.tanh, .prelu(initialSlope: 0.25)], outputs: 3, head: .linear, loss: .multiclassHinge),
    ]

    static let denseOnlyCases: [GradientCase] = [
        GradientCase(hidden: [], outputs: 3, head: .linear, loss: .meanSquaredError),
        GradientCase(hidden: [], outputs: 3, head: .softmax, loss: .crossEntropy),
    ]

    static let regularizedCases: [GradientCase] = [
        GradientCase(hidden: [.tanh, .relu], outputs: 3, head: .softmax, loss: .crossEntropy, dropout: 0.3),
        GradientCase(hidden: [.sigmoid, .prelu(initialSlope: 0.25)], outputs: 2, head: .linear, loss: .meanSquaredError,
                     dropout: 0.5),
        GradientCase(hidden: [.relu, .tanh], outputs: 3, head: .softmax, loss: .crossEntropy,
                     normalization: BatchNormalization()),
        GradientCase(hidden: [.sigmoid, .elu(alpha: 0.5)], outputs: 2, head: .linear, loss: .meanSquaredError,
                     normalization: BatchNormalization(momentum: 0.3, epsilon: 1e-3)),
        GradientCase(hidden: [.relu, .sigmoid], outputs: 3, head: .softmax, loss: .crossEntropy,
                     normalization: BatchNormalization(), dropout: 0.3),
        GradientCase(hidden: [.prelu(initialSlope: 0.25), .gelu], outputs: 1, head: .sigmoid, loss: .binaryCrossEntropy,
                     normalization: BatchNormalization(), dropout: 0.2),
    ]

    @Test("backward matches central differences with dropout, batch norm and both", arguments: regularizedCases)
    func backwardMatchesCentralDifferencesWhenRegularized(gradientCase: GradientCase) throws {
        try Self.check(gradientCase)
    }

    @Test("backward matches central differences for every activation", arguments: activationCases)
    func backwardMatchesCentralDifferencesForActivation(gradientCase: GradientCase) throws {
        try Self.check(gradientCase)
    }

    @Test("backward matches central differences for every loss", arguments: lossCases)
    func backwardMatchesCentralDifferencesForLoss(gradientCase: GradientCase) throws {
        try Self.check(gradientCase)
    }

    @Test("a Dense-only network's backward matches central differences", arguments: denseOnlyCases)
    func denseBackwardMatchesCentralDifferences(gradientCase: GradientCase) throws {
        try Self.check(gradientCase)
    }

    static func check(_ gradientCase: GradientCase, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let problem = try #require(GradientProblem.first(gradientCase), "no draw clear of kinks", sourceLocation: sourceLocation)
        let network = problem.network
        let m = GradientProblem.rows
        let k = gradientCase.outputs
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        let workspace = Workspace(network: network, rows: m)
        let input = Matrix(problem.input, rows: m, columns: network.spec.inputWidth)

        // Float: forward, the fused loss kernel with scale 1/B, backward.
        let batchStatistics = FloatBuffer(count: network.statisticsCount)
        let logits = batchStatistics.withUnsafeMutableBufferPointer { statistics in
            network.forward(input, parameters: problem.parameters, workspace: workspace, pool: pool,
                            key: problem.key, batchStatistics: statistics)
        }
        // Both models drop the same units: the Float network's masks are the ones derived from CounterRNG.
        for (index, mask) in problem.masks {
            let used = try #require(workspace.dropoutMask[index], sourceLocation: sourceLocation)
            let values = (0..<m).map { i in (0..<mask[i].count).map { Double(used[i, $0]) } }
            #expect(values == mask, "layer \(index) dropout mask", sourceLocation: sourceLocation)
            #expect(mask.joined().contains(0) && mask.joined().contains { $0 > 1 }, sourceLocation: sourceLocation)
        }
        #expect(problem.masks.count == network.spec.layers.filter { $0.dropout != 0 }.count, sourceLocation: sourceLocation)
        let outputGradient = FloatBuffer(count: m * k)
        let rowLoss = FloatBuffer(count: m)
        let rowCorrect = FloatBuffer(count: m)
        problem.labels.withUnsafeBufferPointer { labels in
            let targets: LossTargets = gradientCase.loss.usesClassLabels
                ? .labels(labels.baseAddress!) : .values(Matrix(problem.values, rows: m, columns: k))
            gradientCase.loss.evaluate(
                logits: logits, targets: targets, scale: 1 / Float(m),
                gradient: Matrix(outputGradient, rows: m, columns: k),
                rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer, pool: pool)
        }
        let gradients = FloatBuffer(count: network.parameterCount)
        gradients.fill(.nan)  // backward without accumulate must write every element
        network.backward(input, outputGradient: Matrix(outputGradient, rows: m, columns: k),
                         parameters: problem.parameters, gradients: gradients, accumulate: false,
                         workspace: workspace, pool: pool)

        // The Float loss equals the Double model's, and so do the batch statistics.
        var reference = ReferenceNetwork(network, parameters: problem.parameters)
        let mode = ReferenceNetwork.Mode.training(masks: problem.masks)
        let exactLoss = reference.meanLoss(gradientCase.loss, input: problem.inputRows, targets: problem.targets, mode: mode)
        let pass = reference.forward(problem.inputRows, mode: mode)
        for (index, offsets) in network.statisticsLayout.layers.enumerated() {
            guard let offsets, let mean = pass.batchMean[index], let variance = pass.batchVariance[index] else { continue }
            for j in mean.indices {
                let unbiased = variance[j] * Double(m) / Double(m - 1)
                #expect(abs(Double(batchStatistics[offsets.mean + j]) - mean[j]) <= 1e-5 * max(1, abs(mean[j])),
                        "layer \(index) batch mean[\(j)]", sourceLocation: sourceLocation)
                #expect(abs(Double(batchStatistics[offsets.variance + j]) - unbiased) <= 1e-5 * max(1, unbiased),
                        "layer \(index) batch variance[\(j)]", sourceLocation: sourceLocation)
            }
        }
        let floatLoss = rowLoss.array.reduce(0.0) { $0 + Double($1) } / Double(m)
        #expect(abs(floatLoss - exactLoss) <= 1e-5 * max(1, abs(exactLoss)),
                "loss \(floatLoss) vs reference \(exactLoss)", sourceLocation: sourceLocation)

        // Every parameter against a central difference of the Double loss.
        let step = 1e-5
        var checked = 0
        var mismatches: [String] = []
        for tensor in network.layout.tensors {
            for index in tensor.offset..<(tensor.offset + tensor.count) {
                let saved = reference.parameters[index]
                reference.parameters[index] = saved + step
                let plus = reference.meanLoss(gradientCase.loss, input: problem.inputRows, targets: problem.targets, mode: mode)
                reference.parameters[index] = saved - step
                let minus = reference.meanLoss(gradientCase.loss, input: problem.inputRows, targets: problem.targets, mode: mode)
                reference.parameters[index] = saved
                let numeric = (plus - minus) / (2 * step)
                let analytic = Double(gradients.pointer[index])
                let tolerance = 1e-3 * max(abs(numeric), abs(analytic)) + 1e-6
                if !(abs(analytic - numeric) <= tolerance) {
                    mismatches.append("\(tensor.name)[\(index - tensor.offset)]: backward \(analytic), central difference \(numeric)")
                }
                checked += 1
            }
        }
        let expectedCount = network.layout.tensors.reduce(0) { $0 + $1.count }
        #expect(checked == expectedCount && checked > 0, sourceLocation: sourceLocation)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(checked) parameters differ: \(mismatches.prefix(4).joined(separator: "; "))",
                sourceLocation: sourceLocation)
    }
}
