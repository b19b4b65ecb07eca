// Initializer: names, the per-activation defaults, the statistics of each
// distribution (PyTorch's torch.nn.init limits and σ), and Network.initialize.

import Engine
import Layers
import Testing

@Suite("Initializer")
struct InitializerTests {
    @Test("names parse to initialisers, case-insensitively, with parameters", arguments: [
        ("zeros", Initializer.zeros), ("constant(0.5)", .constant(0.5)), ("normal(0.02)", .normal(standardDeviation: 0.02)),
        ("normal", .normal(standardDeviation: 0.01)), ("uniform(0.1)", .uniform(limit: 0.1)), ("uniform", .uniform(limit: 0.05)),
        ("xavier-normal", .xavierNormal), ("glorot-normal", .xavierNormal), ("xavier-uniform", .xavierUniform),
        ("xavier", .xavierUniform), ("glorot", .xavierUniform), ("he-normal", .heNormal), ("kaiming-normal", .heNormal),
        ("he-uniform", .heUniform), ("HE-UNIFORM", .heUniform), ("kaiming", .heUniform),
    ])
    func namesParse(name: String, initializer: Initializer) {
        #expect(Initializer(name: name) == initializer)
    }

    @Test("malformed names are rejected", arguments: [
        "constant", "he-uniform(2)", "zeros(1)", "bogus", "normal(x)", "normal(inf)", "uniform(nan)", "normal(0.1",
    ])
    func badNamesAreRejected(name: String) {
        #expect(Initializer(name: name) == nil)
    }

    @Test("the ReLU family defaults to He, the others to Xavier")
    func defaultsFollowTheActivation() {
        let he: [Activation] = [.relu, .leakyReLU(slope: 0.1), .prelu(initialSlope: 0.25), .elu(alpha: 1), .gelu, .silu]
        let xavier: [Activation] = [.identity, .sigmoid, .tanh, .softplus]
        #expect(he.allSatisfy { Initializer.default(for: $0) == .heUniform })
        #expect(xavier.allSatisfy { Initializer.default(for: $0) == .xavierUniform })
    }

    static func draw(_ initializer: Initializer, fanIn: Int = 400, fanOut: Int = 100, layer: Int = 0, seed: UInt64 = 9) -> [Float] {
        var weights = [Float](repeating: .nan, count: fanIn * fanOut)
        weights.withUnsafeMutableBufferPointer {
            initializer.fill($0, fanIn: fanIn, fanOut: fanOut, layer: layer, rng: CounterRNG(seed: seed))
        }
        return weights
    }

    @Test("uniform initialisers stay within their limit and fill it", arguments: [
        (Initializer.heUniform, (6.0 / 400).squareRoot()), (.xavierUniform, (6.0 / 500).squareRoot()), (.uniform(limit: 0.3), 0.3),
    ])
    func uniformStatistics(initializer: Initializer, limit: Double) {
        let weights = Self.draw(initializer).map(Double.init)
        let mean = weights.reduce(0, +) / Double(weights.count)
        let variance = weights.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(weights.count)
        let largest = weights.map(abs).max() ?? 0
        #expect(largest <= limit * (1 + 1e-6))
        #expect(largest > 0.99 * limit)
        #expect(abs(mean) < 0.02 * limit)
        // Var of U(−a, a) is a²/3; the sample of 40k is within 2 %.
        #expect(abs(variance / (limit * limit / 3) - 1) < 0.02)
    }

    @Test("normal initialisers have mean 0 and their σ", arguments: [
        (Initializer.heNormal, (2.0 / 400).squareRoot()), (.xavierNormal, (2.0 / 500).squareRoot()),
        (.normal(standardDeviation: 0.05), 0.05),
    ])
    func normalStatistics(initializer: Initializer, sigma: Double) {
        let weights = Self.draw(initializer).map(Double.init)
        let mean = weights.reduce(0, +) / Double(weights.count)
        let variance = weights.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(weights.count)
        #expect(abs(mean) < 0.02 * sigma)
        #expect(abs(variance.squareRoot() / sigma - 1) < 0.02)
    }

    @Test("zeros and constant fill every element")
    func constantsFill() {
        #expect(Self.draw(.zeros, fanIn: 3, fanOut: 5).allSatisfy { $0 == 0 })
        #expect(Self.draw(.constant(0.75), fanIn: 3, fanOut: 5).allSatisfy { $0 == 0.75 })
    }

    @Test("weights are a pure function of seed and layer")
    func weightsDependOnSeedAndLayerOnly() {
        let weights = Self.draw(.heUniform, fanIn: 20, fanOut: 10, layer: 2, seed: 4)
        #expect(Self.draw(.heUniform, fanIn: 20, fanOut: 10, layer: 2, seed: 4) == weights)
        #expect(Self.draw(.heUniform, fanIn: 20, fanOut: 10, layer: 3, seed: 4) != weights)
        #expect(Self.draw(.heUniform, fanIn: 20, fanOut: 10, layer: 2, seed: 5) != weights)
    }

    @Test("Network.initialize fills weights per layer, zero biases and padding, initial PReLU slopes")
    func networkInitialization() throws {
        let network = Network(try ModelSpec(parsing: "5-3:prelu(0.2)-7:tanh-2:linear"))
        let parameters = FloatBuffer(count: network.parameterCount)
        parameters.fill(.nan)
        let rng = CounterRNG(seed: 21)
        network.initialize(parameters, rng: rng)
        var inTensor = [Bool](repeating: false, count: parameters.count)
        var fanIn = 5
        for (index, layer) in network.spec.layers.enumerated() {
            let offsets = network.layout.layers[index]
            let expected = Self.draw(Initializer.default(for: layer.activation), fanIn: fanIn, fanOut: layer.width,
                                     layer: index, seed: 21)
            #expect(Array(parameters.array[offsets.weight..<(offsets.weight + expected.count)]) == expected)
            #expect(parameters.array[offsets.bias..<(offsets.bias + layer.width)].allSatisfy { $0 == 0 })
            for i in offsets.weight..<(offsets.weight + expected.count) { inTensor[i] = true }
            if let slope = offsets.slope {
                #expect(parameters.array[slope..<(slope + layer.width)].allSatisfy { $0 == 0.2 })
                for i in slope..<(slope + layer.width) { inTensor[i] = true }
            }
            fanIn = layer.width
        }
        let padding = parameters.array.indices.filter { !inTensor[$0] }.map { parameters.pointer[$0] }
        #expect(padding.allSatisfy { $0 == 0 })

        // An explicit initialiser replaces every layer's default.
        network.initialize(parameters, rng: rng, initializer: .constant(0.5))
        #expect(parameters.pointer[network.layout.layers[1].weight] == 0.5)
    }
}
