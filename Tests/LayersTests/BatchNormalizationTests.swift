// Batch normalization: initial γ, β and running statistics, inference with
// the running statistics against the Double model, the momentum update, the
// redundant Dense bias, per-layer completeness at `layerFinished`, and
// independence of the thread count with dropout in the same network.

import Engine
import Layers
import Testing

@Suite("Batch normalization")
struct BatchNormalizationTests {
    @Test("γ starts at 1, β at 0, the running mean at 0 and the running variance at 1")
    func initialValues() throws {
        let network = Network(try ModelSpec(parsing: "5-7:relu:bn-3:tanh:bn(0.2)-2:linear"))
        let parameters = FloatBuffer(count: network.parameterCount)
        parameters.fill(.nan)
        network.initialize(parameters, rng: CounterRNG(seed: 3))
        let statistics = FloatBuffer(count: network.statisticsCount)
        statistics.fill(.nan)
        network.initializeStatistics(statistics)
        for (index, width) in [(0, 7), (1, 3)] {
            let tensors = try #require(network.layout.layers[index].normalization)
            let offsets = try #require(network.statisticsLayout.layers[index])
            #expect((0..<width).allSatisfy { parameters[tensors.scale + $0] == 1 && parameters[tensors.shift + $0] == 0 })
            #expect((0..<width).allSatisfy { statistics[offsets.mean + $0] == 0 && statistics[offsets.variance + $0] == 1 })
        }
        #expect(network.statisticsLayout.layers[2] == nil)
        #expect(statistics.array.allSatisfy { $0 == 0 || $0 == 1 })
    }

    /// A network with random γ, β and running statistics (variance in [0.5, 2]).
    static func randomized(_ spec: String) throws -> (NetworkHarness, FloatBuffer) {
        let harness = try NetworkHarness(spec)
        var generator = SplitMix64(seed: 17)
        for offsets in harness.network.layout.layers {
            guard let tensors = offsets.normalization else { continue }
            let width = harness.network.layout.tensors.first { $0.offset == tensors.scale }!.count
            for j in 0..<width {
                harness.parameters[tensors.scale + j] = generator.uniform(0.5, 1.5)
                harness.parameters[tensors.shift + j] = generator.uniform(-0.5, 0.5)
            }
        }
        let statistics = FloatBuffer(count: harness.network.statisticsCount)
        harness.network.initializeStatistics(statistics)
        for tensor in harness.network.statisticsLayout.tensors {
            let range: (Float, Float) = tensor.role == .runningMean ? (-1, 1) : (0.5, 2)
            for j in 0..<tensor.count { statistics[tensor.offset + j] = generator.uniform(range.0, range.1) }
        }
        return (harness, statistics)
    }

    @Test("infer normalises with the running statistics and drops nothing", arguments: [
        "5-6:relu:bn-4:tanh:bn:dropout(0.5)-3:softmax", "8-130:elu(0.5):bn(0.3,0.001)-2:linear",
    ])
    func inferUsesRunningStatistics(spec: String) throws {
        let (harness, statistics) = try Self.randomized(spec)
        let network = harness.network
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let rows = 5
        let input = harness.batch(rows: rows, seed: 12)
        // The logits live in the workspaces, which must outlive them.
        let workspace = Workspace(network: network, rows: rows)
        let singleWorkspace = Workspace(network: network, rows: 1)
        defer { withExtendedLifetime((workspace, singleWorkspace)) {} }
        let logits = network.infer(Matrix(input, rows: rows, columns: network.spec.inputWidth), parameters: harness.parameters,
                                   runningStatistics: statistics, workspace: workspace, pool: pool)
        let width = network.spec.inputWidth
        let rowsAsDouble = (0..<rows).map { i in (0..<width).map { Double(input[i * width + $0]) } }
        let reference = ReferenceNetwork(network, parameters: harness.parameters)
            .forward(rowsAsDouble, mode: .evaluation(statistics: statistics.array.map(Double.init)))
        var worst = 0.0
        for i in 0..<rows {
            for j in 0..<network.spec.outputWidth {
                let exact = reference.logits[i][j]
                worst = max(worst, abs(Double(logits[i, j]) - exact) / max(1, abs(exact)))
            }
        }
        #expect(worst < 1e-5)
        // Evaluation does not depend on the other rows: one row alone gives the same logits.
        let single = network.infer(Matrix(input, rows: 1, columns: width), parameters: harness.parameters,
                                   runningStatistics: statistics, workspace: singleWorkspace, pool: pool)
        #expect((0..<network.spec.outputWidth).allSatisfy { abs(single[0, $0] - logits[0, $0]) <= 1e-6 * max(1, abs(logits[0, $0])) })
    }

    @Test("the running statistics move towards the averaged batch statistics by each layer's momentum")
    func runningStatisticsUpdate() throws {
        let network = Network(try ModelSpec(parsing: "4-3:relu:bn-20:tanh-5:sigmoid:bn(0.25)-2:linear"))
        let running = FloatBuffer.random(count: network.statisticsCount, seed: 1, in: (0.5, 2))
        let batch = FloatBuffer.random(count: network.statisticsCount, seed: 2, in: (0.5, 2))
        let before = running.array
        network.updateRunningStatistics(running, from: batch)
        var covered = Set<Int>()
        for (index, momentum) in [(0, 0.1), (2, 0.25)] {
            let offsets = try #require(network.statisticsLayout.layers[index])
            let width = network.spec.layers[index].width
            for j in 0..<width {
                for offset in [offsets.mean + j, offsets.variance + j] {
                    let expected = (1 - momentum) * Double(before[offset]) + momentum * Double(batch[offset])
                    #expect(abs(Double(running[offset]) - expected) <= 1e-6 * expected, "element \(offset)")
                    covered.insert(offset)
                }
            }
        }
        // Padding is left alone.
        #expect(running.array.indices.filter { !covered.contains($0) }.allSatisfy { running[$0] == before[$0] })
        #expect(covered.count == 16)
    }

    @Test("the Dense bias before batch norm is skipped: it changes nothing and its gradient is exactly 0")
    func denseBiasIsRedundant() throws {
        let harness = try NetworkHarness("6-9:relu:bn-5:tanh:bn-3:linear")
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        let workspace = Workspace(network: harness.network, rows: 8)
        let batch = harness.batch(rows: 8, seed: 2)
        let gradients = FloatBuffer(count: harness.network.parameterCount)
        gradients.fill(.nan)
        let logits = harness.step(batch, gradients: gradients, accumulate: false, workspace: workspace, pool: pool)
        for index in [0, 1] {
            let bias = harness.network.layout.layers[index].bias
            let width = harness.network.spec.layers[index].width
            #expect((0..<width).allSatisfy { gradients[bias + $0].bitPattern == 0 }, "layer \(index)")
            for j in 0..<width { harness.parameters[bias + j] += 3 }
        }
        #expect(harness.step(batch, gradients: gradients, accumulate: true, workspace: workspace, pool: pool) == logits)
        #expect([0, 1].allSatisfy { index in
            let bias = harness.network.layout.layers[index].bias
            return (0..<harness.network.spec.layers[index].width).allSatisfy { gradients[bias + $0].bitPattern == 0 }
        })
    }

    @Test("layerFinished comes last layer first, with the layer's whole arena range final")
    func layerFinishedCoversTheLayerRange() throws {
        let harness = try NetworkHarness("6-9:prelu:bn:dropout(0.2)-5:tanh:bn-4:prelu-3:linear")
        let network = harness.network
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        let workspace = Workspace(network: network, rows: 8)
        let layers = network.layout.layers
        let ranges = layers.indices.map { layers[$0].weight..<($0 + 1 < layers.count ? layers[$0 + 1].weight : network.parameterCount) }
        // Every tensor lies in its layer's range.
        for tensor in network.layout.tensors {
            let layer = Int(tensor.name.split(separator: ".")[1])!
            #expect(ranges[layer].contains(tensor.offset) && tensor.offset + tensor.count <= ranges[layer].upperBound, "\(tensor.name)")
        }
        let gradients = FloatBuffer(count: network.parameterCount)
        gradients.fill(.nan)
        var order: [Int] = []
        var snapshots: [Int: [UInt32]] = [:]
        harness.step(harness.batch(rows: 8, seed: 1), gradients: gradients, accumulate: false, workspace: workspace, pool: pool) { layer in
            order.append(layer)
            snapshots[layer] = ranges[layer].map { gradients[$0].bitPattern }
        }
        #expect(order == [3, 2, 1, 0])
        for (layer, range) in ranges.enumerated() {
            let written = network.layout.tensors.filter { range.contains($0.offset) }
                .flatMap { $0.offset..<($0.offset + $0.count) }
            #expect(written.allSatisfy { !gradients[$0].isNaN }, "layer \(layer) left a tensor unwritten")
            #expect(snapshots[layer] == range.map { gradients[$0].bitPattern }, "layer \(layer) changed after layerFinished")
        }
    }

    @Test("forward, batch statistics, masks and backward give the same bits for 1, 2 and 3 threads")
    func trainingStepIsIndependentOfThreadCount() throws {
        // 300 columns span two column-sum tasks and several GEMM tiles; 64 rows
        // of 300 span two elementwise tasks.
        let harness = try NetworkHarness("40-300:relu:bn:dropout(0.3)-130:prelu:bn-10:softmax")
        let rows = 64
        let first = harness.batch(rows: rows, seed: 5)
        let second = harness.batch(rows: rows, seed: 6)
        var results: [[[UInt32]]] = []
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threadCount: threads)
            let workspace = Workspace(network: harness.network, rows: rows)
            let gradients = FloatBuffer(count: harness.network.parameterCount)
            let firstStatistics = FloatBuffer(count: harness.network.statisticsCount)
            let secondStatistics = FloatBuffer(count: harness.network.statisticsCount)
            let logits = harness.step(first, gradients: gradients, accumulate: false, workspace: workspace, pool: pool,
                                      batchStatistics: firstStatistics)
            harness.step(second, gradients: gradients, accumulate: true, workspace: workspace, pool: pool,
                         position: rows, batchStatistics: secondStatistics)
            let mask = workspace.dropoutMask[0]!
            let maskBits = (0..<rows).flatMap { i in (0..<300).map { mask[i, $0].bitPattern } }
            pool.shutdown()
            results.append([logits, gradients.bits, firstStatistics.bits, secondStatistics.bits, maskBits])
        }
        #expect(results[1] == results[0])
        #expect(results[2] == results[0])
        #expect(!results[0][2].allSatisfy { $0 == 0 })
    }

    @Test("batch normalization asks for micro-batches of at least 2 rows")
    func needsTwoRows() throws {
        let spec = try ModelSpec(parsing: "4-3:relu:bn-2:linear")
        #expect(throws: ModelSpecError("model spec '4-3:relu:bn-2:linear': batch normalization needs micro-batches of at least 2 rows, got 1")) {
            try spec.validate(microBatchSize: 1)
        }
        try spec.validate(microBatchSize: 2)
        try ModelSpec(parsing: "4-3:relu:dropout(0.5)-2:linear").validate(microBatchSize: 1)
    }
}
