// GEMM over oneDNN's single-threaded `dnnl_sgemm`, cut into fixed column tiles.
//
// C = op(A)·op(B) (+ C when accumulating), row-major. The product's output
// columns are cut into tiles of `Gemm.tileColumns` (a constant: never derived
// from the thread count), each tile is one `dnnl_sgemm` call over the full M
// and K, and the pool's threads take tiles. The sequence of calls therefore
// depends on the shapes only, and identical calls give identical bits
// (DESIGN.md 3 and 7). oneDNN's OpenMP is limited to one thread in every pool
// thread, so it never splits a call itself.

import CDNNL

public enum Gemm {
    /// Width of an output-column tile. Fixed for the reproducibility contract:
    /// changing it changes the bits of every run.
    public static let tileColumns = 128

    /// Number of tiles a product with `columns` output columns is cut into.
    public static func tileCount(columns: Int) -> Int { (columns + tileColumns - 1) / tileColumns }

    /// C = op(A)·op(B), or C += op(A)·op(B) when `accumulate` is true.
    ///
    /// - a: (M, K), or (K, M) when `transposeA`
    /// - b: (K, N), or (N, K) when `transposeB`
    /// - c: (M, N)
    public static func multiply(
        _ a: Matrix, transposeA: Bool = false,
        _ b: Matrix, transposeB: Bool = false,
        into c: Matrix, accumulate: Bool = false,
        pool: ThreadPool
    ) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        let kb = transposeB ? b.columns : b.rows
        precondition(k == kb && c.rows == m && c.columns == n,
                     "GEMM shapes: op(A) (\(m), \(k)) · op(B) (\(kb), \(n)) into C (\(c.rows), \(c.columns))")
        if m == 0 || n == 0 { return }
        // The pool's workers limit themselves when they start, and so does the
        // thread that creates the pool; the caller may be another thread, and
        // it runs tiles too.
        _ = dpt_omp_set_one_thread()
        let tiles = tileCount(columns: n)
        pool.parallelFor(tiles) { tile in
            let first = tile * tileColumns
            let width = min(tileColumns, n - first)
            let bTile = transposeB ? b.pointer + first * b.rowStride : b.pointer + first
            singleCall(
                transposeA: transposeA, transposeB: transposeB, m: m, n: width, k: k,
                a: a.pointer, lda: a.rowStride, b: bTile, ldb: b.rowStride,
                beta: accumulate ? 1 : 0, c: c.pointer + first, ldc: c.rowStride)
        }
    }

    /// One `dnnl_sgemm` call: C = op(A)·op(B) + beta·C, row-major. Single-threaded
    /// on a thread whose OpenMP is limited to one thread (pool threads and
    /// callers of `multiply` are).
    public static func singleCall(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if k == 0 {
            // dnnl rejects K = 0; the product is empty, C = beta·C. As in BLAS,
            // beta = 0 means C is not read, so NaN or garbage in C does not survive.
            for row in 0..<m {
                for column in 0..<n { c[row * ldc + column] = beta == 0 ? 0 : beta * c[row * ldc + column] }
            }
            return
        }
        let status = dnnl_sgemm(
            CChar(UInt8(ascii: transposeA ? "T" : "N")), CChar(UInt8(ascii: transposeB ? "T" : "N")),
            dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1,
            a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
        precondition(status == dnnl_success, "dnnl_sgemm failed with status \(status.rawValue) for M=\(m) N=\(n) K=\(k)")
    }
}
