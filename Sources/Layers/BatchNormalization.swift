// Batch normalization (Ioffe & Szegedy, "Batch Normalization: Accelerating
// Deep Network Training by Reducing Internal Covariate Shift", ICML 2015,
// Algorithm 1 and §3) with PyTorch BatchNorm1d's conventions: the biased
// variance normalises, the unbiased one feeds the running estimate, momentum
// 0.1, ε 1e-5. It sits between a Dense map and its activation.
//
// Legend: m = rows of the micro-batch, n = width of the layer; per column j:
//   μ_j = (1/m) Σ_i z_ij              σ²_j = (1/m) Σ_i (z_ij − μ_j)²
//   x̂_ij = (z_ij − μ_j) / √(σ²_j + ε)  y_ij = γ_j x̂_ij + β_j
// Backward, from dy (the paper's §3 chain rule, summed over the batch):
//   dβ_j = Σ_i dy_ij                  dγ_j = Σ_i dy_ij x̂_ij
//   dz_ij = γ_j / √(σ²_j + ε) · (dy_ij − dβ_j/m − x̂_ij dγ_j/m)
// Running statistics (torch.nn.BatchNorm1d):
//   r_μ ← (1 − momentum)·r_μ + momentum·μ
//   r_σ² ← (1 − momentum)·r_σ² + momentum·σ²·m/(m − 1)
// and evaluation computes y = (z − r_μ)·γ/√(r_σ² + ε) + β.
//
// Column sums accumulate in Double with the rows in index order, and threads
// take fixed column ranges, so no result depends on the thread count
// (DESIGN.md 3); the passes run in C (CKernels/batchnorm.c), whose lane
// widths round alike. β is added by the activation kernel as its bias.

import CKernels
import Engine

/// Batch normalization of a layer: its running-statistics momentum and ε.
public struct BatchNormalization: Codable, Sendable, Equatable {
    /// Weight of the newest batch in the running mean and variance, in [0, 1].
    public var momentum: Float
    /// Added to the variance before the square root; positive.
    public var epsilon: Float

    /// PyTorch's defaults: momentum 0.1, ε 1e-5.
    public init(momentum: Float = 0.1, epsilon: Float = 1e-5) {
        self.momentum = momentum
        self.epsilon = epsilon
    }

    /// The option as a spec writes it: `bn`, `bn(momentum)` or `bn(momentum,epsilon)`.
    public var specName: String {
        let defaults = BatchNormalization()
        if epsilon != defaults.epsilon { return "bn(\(momentum),\(epsilon))" }
        if momentum != defaults.momentum { return "bn(\(momentum))" }
        return "bn"
    }
}

extension BatchNormalization {
    /// Training forward. z (m, n) holds the Dense output and becomes x̂; y (m, n)
    /// receives γ·x̂. Writes 1/√(σ² + ε) per column, and the batch mean and
    /// unbiased variance when asked.
    func forward(
        _ z: Matrix, scale gamma: UnsafePointer<Float>, output y: Matrix,
        inverseStandardDeviation: UnsafeMutablePointer<Float>,
        mean meanOut: UnsafeMutablePointer<Float>?, variance varianceOut: UnsafeMutablePointer<Float>?,
        pool: ThreadPool
    ) {
        pool.parallelRanges(
            z.columns, grain: columnsPerTask,
            ForwardColumns(
                z: z, y: y, gamma: gamma, inverseStandardDeviation: inverseStandardDeviation, meanOut: meanOut,
                varianceOut: varianceOut, epsilon: Double(epsilon)))
    }

    /// Backward. `gradient` (m, n) holds dy and becomes dz; `normalized` is the
    /// forward's x̂ (m, n). Writes dβ and dγ (n each).
    static func backward(
        _ gradient: Matrix, normalized: Matrix, scale gamma: UnsafePointer<Float>,
        inverseStandardDeviation: UnsafePointer<Float>,
        shiftGradient: UnsafeMutablePointer<Float>, scaleGradient: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        pool.parallelRanges(
            gradient.columns, grain: columnsPerTask,
            BackwardColumns(
                gradient: gradient, normalized: normalized, gamma: gamma,
                inverseStandardDeviation: inverseStandardDeviation, shiftGradient: shiftGradient,
                scaleGradient: scaleGradient))
    }

    /// Evaluation: z (m, n) becomes (z − r_μ)·γ/√(r_σ² + ε), in place; β is
    /// added by the activation. `factor` is scratch for n floats.
    func normalizeForEvaluation(
        _ z: Matrix, runningMean: UnsafePointer<Float>, runningVariance: UnsafePointer<Float>,
        scale gamma: UnsafePointer<Float>, factor: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        let n = z.columns
        let epsilon = Double(self.epsilon)
        for j in 0..<n {
            factor[j] = Float(Double(gamma[j]) / (Double(runningVariance[j]) + epsilon).squareRoot())
        }
        pool.parallelRanges(
            z.rows, grain: max(1, 16_384 / max(n, 1)),
            EvaluationRows(z: z, runningMean: runningMean, factor: factor, n: n))
    }

    /// r ← (1 − momentum)·r + momentum·b for the running mean and variance (n each).
    func updateRunning(
        mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>,
        batchMean: UnsafePointer<Float>, batchVariance: UnsafePointer<Float>, count n: Int
    ) {
        let keep = 1 - momentum
        for j in 0..<n {
            mean[j] = keep * mean[j] + momentum * batchMean[j]
            variance[j] = keep * variance[j] + momentum * batchVariance[j]
        }
    }
}

/// Columns of `BatchNormalization.forward`.
private struct ForwardColumns: RangeJob {
    let z: Matrix, y: Matrix, gamma: UnsafePointer<Float>, inverseStandardDeviation: UnsafeMutablePointer<Float>
    let meanOut: UnsafeMutablePointer<Float>?, varianceOut: UnsafeMutablePointer<Float>?, epsilon: Double

    func run(_ columns: Range<Int>) {
        let j = columns.lowerBound
        dpt_batchnorm_forward(
            z.pointer + j, z.rowStride, y.pointer + j, y.rowStride, gamma + j, inverseStandardDeviation + j,
            meanOut.map { $0 + j }, varianceOut.map { $0 + j }, z.rows, columns.count, epsilon)
    }
}

/// Columns of `BatchNormalization.backward`.
private struct BackwardColumns: RangeJob {
    let gradient: Matrix, normalized: Matrix, gamma: UnsafePointer<Float>
    let inverseStandardDeviation: UnsafePointer<Float>
    let shiftGradient: UnsafeMutablePointer<Float>, scaleGradient: UnsafeMutablePointer<Float>

    func run(_ columns: Range<Int>) {
        let j = columns.lowerBound
        dpt_batchnorm_backward(
            gradient.pointer + j, gradient.rowStride, normalized.pointer + j, normalized.rowStride, gamma + j,
            inverseStandardDeviation + j, shiftGradient + j, scaleGradient + j, gradient.rows, columns.count)
    }
}

/// Rows of `BatchNormalization.normalizeForEvaluation`.
private struct EvaluationRows: RangeJob {
    let z: Matrix, runningMean: UnsafePointer<Float>, factor: UnsafeMutablePointer<Float>, n: Int

    func run(_ rows: Range<Int>) {
        for i in rows {
            let zi = z.pointer + i * z.rowStride
            for j in 0..<n { zi[j] = (zi[j] - runningMean[j]) * factor[j] }
        }
    }
}
