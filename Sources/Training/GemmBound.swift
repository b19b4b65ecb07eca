// The GEMM-bound limit (DESIGN.md, performance yardsticks): how many samples
// per second `dnnl_sgemm` alone achieves for exactly the matrix products of
// one training step — same shapes, same tiles, same threads, same
// micro-batch scheme — measured in the same process as the training run.
//
// Per micro-batch of m rows and per layer l: Z_l = A_{l-1}·W_l (forward),
// dW_l = A_{l-1}ᵀ·dZ_l and, above the first layer, dA_{l-1} = dZ_l·W_lᵀ.

import Engine
import Layers

public struct GemmBound: Sendable {
    /// Median time of the forward products of one step, in seconds.
    public let forwardSeconds: Double
    /// Median time of the backward products of one step, in seconds.
    public let backwardSeconds: Double
    /// Best time of all products of one step, in seconds.
    public let bestSeconds: Double
    /// Rows of one step over all ranks.
    public let globalBatchSize: Int

    /// Samples per second of the GEMMs alone, from the median repetition.
    public var samplesPerSecond: Double { Double(globalBatchSize) / (forwardSeconds + backwardSeconds) }
    /// Samples per second of the GEMMs alone, from the best repetition.
    public var bestSamplesPerSecond: Double { Double(globalBatchSize) / bestSeconds }

    /// Measures the products of a step of `globalBatchSize` rows of which this
    /// rank computes `microBatches` micro-batches of `microBatchSize` rows, for
    /// about `seconds`. Reports the median of the repetitions (what the
    /// training steps are set beside: their median too) and the best.
    public static func measure(
        network: Network, microBatchSize m: Int, microBatches: Int, globalBatchSize: Int,
        pool: ThreadPool, seconds: Double = 0.5
    ) -> GemmBound {
        let probe = Probe(network: network, microBatchSize: m, microBatches: microBatches,
                          globalBatchSize: globalBatchSize, pool: pool)
        probe.run(seconds: seconds)
        return probe.result
    }

    /// The products of one step on buffers of their own, repeated and timed
    /// on demand — so a benchmark can interleave them with training steps and
    /// both see the same machine (a shared or throttled core slows both).
    public final class Probe {
        private let forwardProducts: [(Matrix, Matrix, Matrix)]
        private let backwardProducts: [(Matrix, Bool, Matrix, Bool, Matrix)]
        private let microBatches: Int
        private let globalBatchSize: Int
        private let pool: ThreadPool
        private let storage: [FloatBuffer]
        private var forwardTimes: [Double] = []
        private var backwardTimes: [Double] = []
        private var totals: [Double] = []

        public init(network: Network, microBatchSize m: Int, microBatches: Int, globalBatchSize: Int, pool: ThreadPool) {
            let spec = network.spec
            let widths = [spec.inputWidth] + spec.layers.map(\.width)
            let activations = widths.map { FloatBuffer(count: m * $0) }
            let gradients = widths.map { FloatBuffer(count: m * $0) }
            for buffer in activations { buffer.fill(0.5) }
            for buffer in gradients { buffer.fill(0.25) }
            let weights = (1..<widths.count).map { FloatBuffer(count: widths[$0 - 1] * widths[$0]) }
            let weightGradients = (1..<widths.count).map { FloatBuffer(count: widths[$0 - 1] * widths[$0]) }
            for buffer in weights { buffer.fill(0.01) }
            func a(_ l: Int) -> Matrix { Matrix(activations[l], rows: m, columns: widths[l]) }
            func w(_ l: Int) -> Matrix { Matrix(weights[l - 1], rows: widths[l - 1], columns: widths[l]) }
            // Z_l = A_{l−1}·W_l; dW_l = A_{l−1}ᵀ·dZ_l and, above the first layer, dA_{l−1} = dZ_l·W_lᵀ.
            forwardProducts = (1..<widths.count).map { l in (a(l - 1), w(l), a(l)) }
            backwardProducts = (1..<widths.count).reversed().flatMap { l in
                let dZ = Matrix(gradients[l], rows: m, columns: widths[l])
                let dW = Matrix(weightGradients[l - 1], rows: widths[l - 1], columns: widths[l])
                let weight = [(a(l - 1), true, dZ, false, dW)]
                return l > 1 ? weight + [(dZ, false, w(l), true, Matrix(gradients[l - 1], rows: m, columns: widths[l - 1]))] : weight
            }
            self.microBatches = microBatches
            self.globalBatchSize = globalBatchSize
            self.pool = pool
            storage = activations + gradients + weights + weightGradients
            forward()
            backward()
        }

        private func forward() {
            for _ in 0..<microBatches {
                for (a, b, c) in forwardProducts { Gemm.multiply(a, b, into: c, pool: pool) }
            }
        }

        private func backward() {
            for _ in 0..<microBatches {
                for (a, transposeA, b, transposeB, c) in backwardProducts {
                    Gemm.multiply(a, transposeA: transposeA, b, transposeB: transposeB, into: c, pool: pool)
                }
            }
        }

        /// Bytes of the probe's own operands and results.
        public var byteCount: Int { storage.reduce(0) { $0 + 4 * $1.count } }

        /// Times repetitions for about `seconds` (at least `minimum` of them).
        public func run(seconds: Double, minimum: Int = 5) {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
            var repetitions = 0
            while repetitions < minimum || clock.now < deadline {
                let start = clock.now
                forward()
                let middle = clock.now
                backward()
                let end = clock.now
                forwardTimes.append((middle - start).seconds)
                backwardTimes.append((end - middle).seconds)
                totals.append((end - start).seconds)
                repetitions += 1
            }
        }

        /// The limit from every repetition so far.
        public var result: GemmBound {
            GemmBound(
                forwardSeconds: median(forwardTimes), backwardSeconds: median(backwardTimes),
                bestSeconds: totals.min() ?? 0, globalBatchSize: globalBatchSize)
        }
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

/// The middle value (mean of the two middle ones for an even count); 0 when empty.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
