// The GEMM-bound limit (DESIGN.md, performance yardsticks): how many samples
// per second `dnnl_sgemm` alone achieves for exactly the matrix products of
// one training step — same shapes, same column tiles, same threads, same
// micro-batch scheme — measured in the same process as the training run.
//
// Per micro-batch of m rows and per layer l: Z_l = A_{l-1}·W_l (forward),
// dW_l = A_{l-1}ᵀ·dZ_l and, above the first layer, dA_{l-1} = dZ_l·W_lᵀ.

import Engine
import Layers

public enum GemmBound {
    /// Samples per second of the GEMMs alone for a step of `globalBatchSize`
    /// rows of which this rank computes `microBatches` micro-batches of
    /// `microBatchSize` rows. Runs for about `seconds` and reports the best
    /// of several timed repetitions.
    public static func samplesPerSecond(
        network: Network, microBatchSize m: Int, microBatches: Int, globalBatchSize: Int,
        pool: ThreadPool, seconds: Double = 0.5
    ) -> Double {
        let spec = network.spec
        let widths = [spec.inputWidth] + spec.layers.map(\.width)
        let activations = widths.map { FloatBuffer(count: m * $0) }
        let gradients = widths.map { FloatBuffer(count: m * $0) }
        for buffer in activations { buffer.fill(0.5) }
        for buffer in gradients { buffer.fill(0.25) }
        let weights = (1..<widths.count).map { FloatBuffer(count: widths[$0 - 1] * widths[$0]) }
        let weightGradients = (1..<widths.count).map { FloatBuffer(count: widths[$0 - 1] * widths[$0]) }
        for buffer in weights { buffer.fill(0.01) }

        func oneStep() {
            for _ in 0..<microBatches {
                for l in 1..<widths.count {
                    Gemm.multiply(
                        Matrix(activations[l - 1], rows: m, columns: widths[l - 1]),
                        Matrix(weights[l - 1], rows: widths[l - 1], columns: widths[l]),
                        into: Matrix(activations[l], rows: m, columns: widths[l]), pool: pool)
                }
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

        oneStep()
        var best = Double.infinity
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        var repetitions = 0
        while repetitions < 3 || clock.now < deadline {
            let start = clock.now
            oneStep()
            best = min(best, (clock.now - start).seconds)
            repetitions += 1
        }
        return Double(globalBatchSize) / best
    }
}
