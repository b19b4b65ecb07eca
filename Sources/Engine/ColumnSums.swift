// Column sums of a micro-batch matrix: the bias gradient db[j] = Σ_i dz[i,j]
// and the PReLU slope gradient dα[j] = Σ_{i: z[i,j] ≤ 0} z[i,j]·da[i,j].
//
// Rows are added in index order for every column, and threads take fixed
// column ranges, so the result does not depend on the thread count.

import CKernels

/// Columns per task for column-wise passes.
public let columnsPerTask = 256

public enum ColumnSums {
    /// out[j] = Σ_i x[i,j]; x is (m, n), out is (n).
    public static func sum(_ x: Matrix, into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        pool.parallelRanges(x.columns, grain: columnsPerTask, Sums(x: x, out: out))
    }

    /// out[j] = Σ_i [z[i,j] ≤ 0] · z[i,j] · g[i,j], the PReLU slope gradient,
    /// where g is the gradient with respect to the layer's output a.
    public static func preluSlopeGradient(
        outputGradient g: Matrix, preActivation z: Matrix,
        into out: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        pool.parallelRanges(z.columns, grain: columnsPerTask, SlopeSums(g: g, z: z, out: out))
    }

    /// Columns of `sum`.
    private struct Sums: RangeJob {
        let x: Matrix, out: UnsafeMutablePointer<Float>

        func run(_ columns: Range<Int>) {
            dpt_column_sums(x.pointer + columns.lowerBound, x.rowStride, x.rows, out + columns.lowerBound, columns.count)
        }
    }

    /// Columns of `preluSlopeGradient`.
    private struct SlopeSums: RangeJob {
        let g: Matrix, z: Matrix, out: UnsafeMutablePointer<Float>

        func run(_ columns: Range<Int>) {
            let j = columns.lowerBound
            dpt_prelu_slope_sums(g.pointer + j, g.rowStride, z.pointer + j, z.rowStride, z.rows, out + j, columns.count)
        }
    }
}
