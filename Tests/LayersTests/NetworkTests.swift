// Network: gradient accumulation over micro-batches, inference against the
// training forward, and independence of the thread count (DESIGN.md 3).

import Engine
import Layers
import Testing

/// A network with random parameters and a way to run forward, loss and backward.
struct NetworkHarness {
    let network: Network
    let parameters: FloatBuffer

    init(_ spec: String, seed: UInt64 = 1) throws {
        network = Network(try ModelSpec(parsing: spec))
        parameters = FloatBuffer(count: network.parameterCount)
        network.initialize(parameters, rng: CounterRNG(seed: seed))
        var generator = SplitMix64(seed: seed)
        for (index, offsets) in network.layout.layers.enumerated() {
            for j in 0..<network.spec.layers[index].width {
                parameters.pointer[offsets.bias + j] = generator.uniform(-0.3, 0.3)
                if let slope = offsets.slope { parameters.pointer[slope + j] = generator.uniform(0.05, 0.45) }
            }
        }
    }

    /// A micro-batch of `rows` inputs (rows, n_0) from `seed`.
    func batch(rows: Int, seed: UInt64) -> FloatBuffer {
        .random(count: rows * network.spec.inputWidth, seed: seed, in: (-2, 2))
    }

    /// Forward, MSE against fixed targets with scale 1/8, and backward of one
    /// micro-batch into `gradients`. Returns the logits' bits. The micro-batch
    /// starts at global position `position` of epoch 1 (for dropout masks);
    /// `batchStatistics`, when given, receives its batch-norm statistics.
    @discardableResult
    func step(
        _ input: FloatBuffer, gradients: FloatBuffer, accumulate: Bool, workspace: Workspace, pool: ThreadPool,
        position: Int = 0, batchStatistics: FloatBuffer? = nil, layerFinished: (Int) -> Void = { _ in }
    ) -> [UInt32] {
        let k = network.spec.outputWidth
        let rows = input.count / network.spec.inputWidth
        let x = Matrix(input, rows: rows, columns: network.spec.inputWidth)
        let key = MicroBatchKey(rng: CounterRNG(seed: 8), epoch: 1, firstPosition: position)
        let logits = network.forward(
            x, parameters: parameters, workspace: workspace, pool: pool, key: key,
            batchStatistics: batchStatistics.map { UnsafeMutableBufferPointer(start: $0.pointer, count: $0.count) })
        let logitBits = (0..<rows).flatMap { i in (0..<k).map { logits[i, $0].bitPattern } }
        let targets = FloatBuffer.random(count: rows * k, seed: 77)
        let outputGradient = FloatBuffer(count: rows * k)
        let rowLoss = FloatBuffer(count: rows)
        let rowCorrect = FloatBuffer(count: rows)
        Loss.meanSquaredError.evaluate(
            logits: logits, targets: .values(Matrix(targets, rows: rows, columns: k)), scale: 1.0 / 8,
            gradient: Matrix(outputGradient, rows: rows, columns: k), rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer,
            pool: pool)
        network.backward(x, outputGradient: Matrix(outputGradient, rows: rows, columns: k), parameters: parameters,
                         gradients: gradients, accumulate: accumulate, workspace: workspace, pool: pool,
                         layerFinished: layerFinished)
        return logitBits
    }
}

@Suite("Network")
struct NetworkTests {
    @Test("accumulating a second micro-batch equals the two gradients added, bit for bit", arguments: [
        ("5-4:prelu-3:tanh-3:linear", 6),
        ("5-4:prelu-3:relu-1:sigmoid", 6),      // a 1-wide output layer
        ("5-4:prelu-3:gelu-2:linear", 400),     // a micro-batch longer than oneDNN's K block
        ("20-130:leakyrelu(0.1)-7:softmax", 9), // two GEMM tiles
        ("5-4:relu:bn-3:tanh:bn:dropout(0.3)-3:linear", 6),
        ("20-300:prelu:bn:dropout(0.5)-2:linear", 9), // two column-sum tasks in batch norm
    ])
    func accumulatedGradientEqualsSumOfMicroBatchGradients(spec: String, rows: Int) throws {
        let harness = try NetworkHarness(spec)
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let workspace = Workspace(network: harness.network, rows: rows)
        let first = harness.batch(rows: rows, seed: 10)
        let second = harness.batch(rows: rows, seed: 11)
        let count = harness.network.parameterCount

        let firstGradients = FloatBuffer(count: count)
        let secondGradients = FloatBuffer(count: count)
        harness.step(first, gradients: firstGradients, accumulate: false, workspace: workspace, pool: pool)
        harness.step(second, gradients: secondGradients, accumulate: false, workspace: workspace, pool: pool, position: rows)

        let accumulated = FloatBuffer(count: count)
        accumulated.fill(.nan)
        harness.step(first, gradients: accumulated, accumulate: false, workspace: workspace, pool: pool)
        harness.step(second, gradients: accumulated, accumulate: true, workspace: workspace, pool: pool, position: rows)

        for tensor in harness.network.layout.tensors {
            let range = tensor.offset..<(tensor.offset + tensor.count)
            let sum = range.map { (firstGradients.pointer[$0] + secondGradients.pointer[$0]).bitPattern }
            let actual = range.map { accumulated.pointer[$0].bitPattern }
            let differing = zip(sum, actual).filter { $0 != $1 }.count
            #expect(differing == 0, "\(tensor.name): \(differing) of \(tensor.count) elements differ from the sum")
        }
    }

    @Test("infer gives the same logits as the training forward, bit for bit", arguments: [
        "5-4:prelu-3:tanh-3:softmax", "7-130:elu(0.5)-300:silu-1:sigmoid", "3-2:linear",
    ])
    func inferMatchesForward(spec: String) throws {
        let harness = try NetworkHarness(spec)
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let workspace = Workspace(network: harness.network, rows: 8)
        let rows = 5  // fewer than the workspace holds
        // A Matrix holds only a pointer: the buffer must outlive every use of it (freed
        // early, its first row took the allocator's bookkeeping when other tests ran beside).
        let inputs = harness.batch(rows: rows, seed: 3)
        defer { withExtendedLifetime(inputs) {} }
        let input = Matrix(inputs, rows: rows, columns: harness.network.spec.inputWidth)
        let k = harness.network.spec.outputWidth
        let trained = harness.network.forward(input, parameters: harness.parameters, workspace: workspace, pool: pool)
        let forwardBits = (0..<rows).flatMap { i in (0..<k).map { trained[i, $0].bitPattern } }
        let inferred = harness.network.infer(input, parameters: harness.parameters, workspace: workspace, pool: pool)
        #expect(inferred.rows == rows && inferred.columns == k)
        let inferBits = (0..<rows).flatMap { i in (0..<k).map { inferred[i, $0].bitPattern } }
        #expect(inferBits == forwardBits)
    }

    @Test("forward and backward give the same bits for 1, 2 and 3 threads")
    func trainingStepIsIndependentOfThreadCount() throws {
        // 300 and 130 columns span several GEMM tiles and column-sum tasks;
        // 64 rows of 300 span two elementwise tasks.
        let harness = try NetworkHarness("40-300:relu-130:prelu-10:softmax")
        let rows = 64
        let first = harness.batch(rows: rows, seed: 5)
        let second = harness.batch(rows: rows, seed: 6)
        var results: [(logits: [UInt32], gradients: [UInt32])] = []
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threadCount: threads)
            let workspace = Workspace(network: harness.network, rows: rows)
            let gradients = FloatBuffer(count: harness.network.parameterCount)
            let logits = harness.step(first, gradients: gradients, accumulate: false, workspace: workspace, pool: pool)
            harness.step(second, gradients: gradients, accumulate: true, workspace: workspace, pool: pool)
            pool.shutdown()
            results.append((logits, gradients.bits))
        }
        #expect(results[1].logits == results[0].logits)
        #expect(results[2].logits == results[0].logits)
        #expect(results[1].gradients == results[0].gradients)
        #expect(results[2].gradients == results[0].gradients)
    }
}
