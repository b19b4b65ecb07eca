// MaxNormConstraint: after the update, rescale each neuron's incoming weight vector
// so its L2 norm is at most c (Srivastava et al. 2014, max-norm with dropout).
//
// A weight tensor is stored (in, out) row-major (DESIGN.md decision 7), so neuron j's
// incoming weights are column j, elements w[i·out + j]. With n_j = √(Σ_i w[i·out + j]²)
// summed in Double over i in order (the same bits for any thread count):
//   n_j > c:  column j ← column j · c / (n_j + ε),  ε = 1e-7
// This is torch.renorm(w, p=2, dim=1, maxnorm=c) (PyTorch's renorm uses the same ε and
// leaves smaller columns alone). Keras' MaxNorm(max_value=c, axis=0)
// (https://keras.io/api/layers/constraints/) computes w · min(n, c) / (ε + n) with its
// epsilon 1e-7: the same for n > c, and for n ≤ c a factor n/(n + ε), within 1e-7 of 1,
// that we skip rather than shrink every weight a little at each step.

import Engine

/// The max-norm constraint with limit `maxNorm` (c) on each neuron's incoming weights.
public struct MaxNormConstraint: Codable, Sendable, Equatable {
    /// The largest L2 norm a column may keep, c (default 3).
    public var maxNorm: Double

    /// ε added to the norm before dividing, as in torch.renorm and Keras.
    public static let epsilon = 1e-7
    /// A constraint with limit `maxNorm`.
    public init(maxNorm: Double = 3) {
        self.maxNorm = maxNorm
    }

    /// Throws when the limit is not finite and > 0.
    public func validate() throws(HyperparameterError) {
        try HyperparameterError.requirePositive("max-norm", "maxNorm", maxNorm)
    }

    /// Applies the constraint to the (inputs, outputs) weight tensor stored row-major at
    /// `offset` in `parameters`; nothing outside the tensor changes.
    public func apply(to parameters: FloatBuffer, offset: Int, inputs: Int, outputs: Int, pool: ThreadPool) {
        precondition(
            offset >= 0 && inputs >= 0 && outputs >= 0 && offset + inputs * outputs <= parameters.count,
            "max-norm tensor (\(inputs), \(outputs)) at \(offset) outside an arena of \(parameters.count)")
        // Legend: w the tensor (in, out), c = maxNorm, eps = ε. Threads take fixed tiles of
        // Engine's `columnsPerTask` columns; each column's sum runs over its rows in order.
        let w = parameters.pointer + offset
        let c = maxNorm, eps = Self.epsilon
        pool.parallelRanges(
            outputs, grain: columnsPerTask, Columns(w: w, inputs: inputs, outputs: outputs, c: c, eps: eps))
    }
}

/// Columns of `MaxNormConstraint.apply`.
private struct Columns: RangeJob {
    let w: UnsafeMutablePointer<Float>, inputs: Int, outputs: Int, c: Double, eps: Double

    func run(_ columns: Range<Int>) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: columns.count) { sums in
            let first = columns.lowerBound
            for j in columns { sums[j - first] = 0 }
            for i in 0..<inputs {
                let row = w + i * outputs
                for j in columns {
                    let value = Double(row[j])
                    sums[j - first] += value * value
                }
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: columns.count) { scales in
                var anyScaled = false
                for j in columns {
                    let norm = sums[j - first].squareRoot()
                    if norm > c {
                        scales[j - first] = Float(c / (norm + eps))
                        anyScaled = true
                    } else {
                        scales[j - first] = 1
                    }
                }
                guard anyScaled else { return }
                for i in 0..<inputs {
                    let row = w + i * outputs
                    for j in columns { row[j] *= scales[j - first] }
                }
            }
        }
    }
}
