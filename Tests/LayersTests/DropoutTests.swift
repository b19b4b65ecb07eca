// Dropout: masks addressed by (seed, epoch, layer, position, neuron) only,
// the drop rate and the inverted scale, independence of the thread count,
// dropout(0) as the plain network, and inference without dropout.

import Engine
import Layers
import Testing

@Suite("Dropout")
struct DropoutTests {
    /// The masks (rows × width per dropout layer) a training forward of
    /// `rows` rows at `key` leaves in the workspace, as Doubles.
    static func masks(
        _ harness: NetworkHarness, rows: Int, key: MicroBatchKey, inputSeed: UInt64 = 3, threads: Int = 1
    ) -> [Int: [[Double]]] {
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        let network = harness.network
        let workspace = Workspace(network: network, rows: rows)
        // A Matrix holds only a pointer: the buffer must outlive every use of it.
        let inputs = harness.batch(rows: rows, seed: inputSeed)
        defer { withExtendedLifetime(inputs) {} }
        let input = Matrix(inputs, rows: rows, columns: network.spec.inputWidth)
        network.forward(input, parameters: harness.parameters, workspace: workspace, pool: pool, key: key)
        var masks: [Int: [[Double]]] = [:]
        for (index, mask) in workspace.dropoutMask.enumerated() {
            guard let mask else { continue }
            masks[index] = (0..<rows).map { i in (0..<mask.columns).map { Double(mask[i, $0]) } }
        }
        return masks
    }

    @Test("masks are the documented CounterRNG draws of (seed, epoch, layer, position, neuron)")
    func masksFollowTheirAddress() throws {
        let harness = try NetworkHarness("6-10:relu:dropout(0.4)-10:tanh:dropout(0.4)-2:linear")
        let key = MicroBatchKey(rng: CounterRNG(seed: 5), epoch: 3, firstPosition: 100)
        let masks = Self.masks(harness, rows: 8, key: key)
        #expect(masks.keys.sorted() == [0, 1])
        #expect(masks == Reference.dropoutMasks(harness.network.spec, key: key, rows: 8))
        // Two layers of the same width and rate still draw different masks.
        #expect(masks[0] != masks[1])
    }

    @Test("a row's mask depends on its global position, not on its place in the micro-batch or its data")
    func masksDependOnPositionOnly() throws {
        let harness = try NetworkHarness("6-10:relu:dropout(0.4)-10:tanh:dropout(0.4)-2:linear")
        let rng = CounterRNG(seed: 5)
        let first = Self.masks(harness, rows: 8, key: MicroBatchKey(rng: rng, epoch: 3, firstPosition: 100), inputSeed: 3)
        let shifted = Self.masks(harness, rows: 8, key: MicroBatchKey(rng: rng, epoch: 3, firstPosition: 104), inputSeed: 4)
        for layer in [0, 1] {
            #expect(Array(first[layer]![4..<8]) == Array(shifted[layer]![0..<4]), "layer \(layer)")
        }
        // Another epoch or another seed draws other masks.
        let nextEpoch = Self.masks(harness, rows: 8, key: MicroBatchKey(rng: rng, epoch: 4, firstPosition: 100))
        let otherSeed = Self.masks(harness, rows: 8, key: MicroBatchKey(rng: CounterRNG(seed: 6), epoch: 3, firstPosition: 100))
        #expect(nextEpoch[0] != first[0] && nextEpoch[1] != first[1])
        #expect(otherSeed[0] != first[0] && otherSeed[1] != first[1])
    }

    @Test("masks are identical for 1, 2 and 3 threads")
    func masksAreIndependentOfThreadCount() throws {
        // 64 rows of 300 span two elementwise tasks.
        let harness = try NetworkHarness("20-300:relu:dropout(0.5)-130:gelu:dropout(0.2)-3:linear")
        let key = MicroBatchKey(rng: CounterRNG(seed: 2), epoch: 0, firstPosition: 640)
        let single = Self.masks(harness, rows: 64, key: key, threads: 1)
        #expect(Self.masks(harness, rows: 64, key: key, threads: 2) == single)
        #expect(Self.masks(harness, rows: 64, key: key, threads: 3) == single)
        #expect(single == Reference.dropoutMasks(harness.network.spec, key: key, rows: 64))
    }

    @Test("a fraction p of the units is dropped and the rest are scaled by 1/(1 − p)", arguments: [Float(0.2), 0.5, 0.9])
    func dropRateAndScale(rate: Float) throws {
        let harness = try NetworkHarness("20-300:tanh:dropout(\(rate))-2:linear")
        let rows = 64
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        let workspace = Workspace(network: harness.network, rows: rows)
        let inputs = harness.batch(rows: rows, seed: 1)
        defer { withExtendedLifetime(inputs) {} }
        let input = Matrix(inputs, rows: rows, columns: 20)
        harness.network.forward(input, parameters: harness.parameters, workspace: workspace, pool: pool,
                                key: MicroBatchKey(rng: CounterRNG(seed: 11), epoch: 0, firstPosition: 0))
        let mask = try #require(workspace.dropoutMask[0])
        let dropped = try #require(workspace.dropped[0])
        let a = workspace.activation[0]
        var zeros = 0
        var wrong = 0
        for i in 0..<rows {
            for j in 0..<300 {
                if mask[i, j] == 0 { zeros += 1 } else if mask[i, j] != 1 / (1 - rate) { wrong += 1 }
                if dropped[i, j] != a[i, j] * mask[i, j] { wrong += 1 }
            }
        }
        #expect(wrong == 0)
        // 19 200 draws: the fraction is within 0.015 of p (over 4.5 σ).
        #expect(abs(Double(zeros) / Double(rows * 300) - Double(rate)) < 0.015)
    }

    @Test("dropout(0) is the plain network, bit for bit")
    func zeroRateIsThePlainNetwork() throws {
        let plainSpec = "12-40:relu-30:sigmoid-4:softmax"
        let spec = try ModelSpec(parsing: "12-40:relu:dropout(0)-30:sigmoid:dropout(0.0)-4:softmax")
        #expect(try ModelSpec(parsing: plainSpec) == spec)
        #expect(try ModelSpec(parsing: plainSpec).withDropout(0) == spec)
        let plain = try NetworkHarness(plainSpec)
        let zero = try NetworkHarness(spec.description)
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let rows = 10
        let batch = plain.batch(rows: rows, seed: 4)
        let plainGradients = FloatBuffer(count: plain.network.parameterCount)
        let zeroGradients = FloatBuffer(count: zero.network.parameterCount)
        let plainLogits = plain.step(batch, gradients: plainGradients, accumulate: false,
                                     workspace: Workspace(network: plain.network, rows: rows), pool: pool)
        let zeroLogits = zero.step(batch, gradients: zeroGradients, accumulate: false,
                                   workspace: Workspace(network: zero.network, rows: rows), pool: pool, position: 50)
        #expect(zeroLogits == plainLogits)
        #expect(zeroGradients.bits == plainGradients.bits)
    }

    @Test("infer applies no dropout: it gives the logits of the network without it, bit for bit")
    func inferIgnoresDropout() throws {
        let withDropout = try NetworkHarness("12-40:relu:dropout(0.5)-30:prelu:dropout(0.3)-4:softmax")
        let without = try NetworkHarness("12-40:relu-30:prelu-4:softmax")
        #expect(withDropout.parameters.bits == without.parameters.bits)
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let rows = 7
        let inputs = withDropout.batch(rows: rows, seed: 9)
        defer { withExtendedLifetime(inputs) {} }
        let input = Matrix(inputs, rows: rows, columns: 12)
        func bits(_ logits: Matrix) -> [UInt32] { (0..<rows).flatMap { i in (0..<4).map { logits[i, $0].bitPattern } } }
        // The logits live in the workspaces, which must outlive them.
        let plainWorkspace = Workspace(network: without.network, rows: rows)
        let workspace = Workspace(network: withDropout.network, rows: rows)
        defer { withExtendedLifetime((plainWorkspace, workspace)) {} }
        let plain = bits(without.network.infer(input, parameters: without.parameters, workspace: plainWorkspace, pool: pool))
        #expect(bits(withDropout.network.infer(input, parameters: withDropout.parameters, workspace: workspace, pool: pool)) == plain)
        // ... and the training forward does drop.
        let trained = bits(withDropout.network.forward(
            input, parameters: withDropout.parameters, workspace: workspace, pool: pool,
            key: MicroBatchKey(rng: CounterRNG(seed: 1), epoch: 0, firstPosition: 0)))
        #expect(trained != plain)
    }
}
