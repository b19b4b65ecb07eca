// The GEMM-bound limit (DESIGN.md, performance yardsticks): how many samples
// per second `dnnl_sgemm` alone achieves for exactly the matrix products of
// one training step — same shapes, same column tiles, same threads, same
// micro-batch scheme — measured in the same process as the training run.
//
// Per micro-batch of m rows and per layer l: Z_l = A_{l-1}·W_l (forward),
// dW_l = A_{l-1}ᵀ·dZ_l and, above the first layer, dA_{l-1} = dZ_l·W_lᵀ.

import Engine
import Layers

public struct GemmBound: Sendable {
    /// Best time of the forward products of one step, in seconds.
    public let forwardSeconds: Double
    /// Best time of the backward products of one step, in seconds.
    public let backwardSeconds: Double
    /// Rows of one step over all ranks.
    public let globalBatchSize: Int

    /// Samples per second of the GEMMs alone.
    public var samplesPerSecond: Double { Double(globalBatchSize) / (forwardSeconds + backwardSeconds) }

    /// Measures the products of a step of `globalBatchSize` rows of which this
    /// rank computes `microBatches` micro-batches of `microBatchSize` rows, for
    /// about `seconds`, keeping the best of several repetitions.
    public static func measure(
        network: Network, microBatchSize m: Int, microBatches: Int, globalBatchSize: Int,
        pool: ThreadPool, seconds: Double = 0.5
    ) -> GemmBound {
        let spec = network.spec
        let widths = [spec.inputWidth] + spec.layers.map(\.width)
        let activations = widths.map { FloatBuffer(count: m * $0) }
        let gradients = widths.map { FloatBuffer(count: m * $0) }
        for buffer in activations { buffer.fill(0.5) }
        for buffer in gradients { buffer.fill(0.25) }
        let weights = (1..<widths.count).map { FloatBuffer(count: widths[$0 - 1] * widths[$0]) }
        let weightGradients = (1..<widths.count).map { FloatBuffer(count: widths[$0 - 1] * widths[$0]) }
        for buffer in weights { buffer.fill(0.01) }

        func forward() {
            for _ in 0..<microBatches {
                for l in 1..<widths.count {
                    Gemm.multiply(
                        Matrix(activations[l - 1], rows: m, columns: widths[l - 1]),
                        Matrix(weights[l - 1], rows: widths[l - 1], columns: widths[l]),
                        into: Matrix(activations[l], rows: m, columns: widths[l]), pool: pool)
                }
            }
        }
        func backward() {
            for _ in 0..<microBatches {
                for l in stride(from: widths.count - 1, through: 1, by: -1) {
                    let dZ = Matrix(gradients[l], rows: m, columns: widths[l])
                    Gemm.multiply(
                        Matrix(activations[l - 1], rows: m, columns: widths[l - 1]), transposeA: true, dZ,
                        into: Matrix(weightGradients[l - 1], rows: widths[l - 1], columns: widths[l]), pool: pool)
                    if l > 1 {
                        Gemm.multiply(
                            dZ, Matrix(weights[l - 1], rows: widths[l - 1], columns: widths[l]), transposeB: true,
                            into: Matrix(gradients[l - 1], rows: m, columns: widths[l - 1]), pool: pool)
                    }
                }
            }
        }

        forward()
        backward()
        var bestForward = Double.infinity
        var bestBackward = Double.infinity
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        var repetitions = 0
        while repetitions < 3 || clock.now < deadline {
            let start = clock.now
            forward()
            let middle = clock.now
            backward()
            bestForward = min(bestForward, (middle - start).seconds)
            bestBackward = min(bestBackward, (clock.now - middle).seconds)
            repetitions += 1
        }
        return GemmBound(forwardSeconds: bestForward, backwardSeconds: bestBackward, globalBatchSize: globalBatchSize)
    }

    /// Samples per second of the GEMMs alone (see `measure`).
    public static func samplesPerSecond(
        network: Network, microBatchSize: Int, microBatches: Int, globalBatchSize: Int,
        pool: ThreadPool, seconds: Double = 0.5
    ) -> Double {
        measure(
            network: network, microBatchSize: microBatchSize, microBatches: microBatches,
            globalBatchSize: globalBatchSize, pool: pool, seconds: seconds
        ).samplesPerSecond
    }
}
