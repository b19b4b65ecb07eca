// GEMM over oneDNN's single-threaded `dnnl_sgemm`, cut into fixed tiles.
//
// C = op(A)·op(B) (+ C when accumulating), row-major. The product's output
// columns are cut into tiles of `Gemm.tileColumns` and its rows into
// `Gemm.rowBlocks(rows:)` even blocks of at most `Gemm.tileRows` (constants
// and the shape: never the thread count); each tile is one `dnnl_sgemm` call
// over the full K, and the pool's threads take tiles. The sequence of calls
// therefore depends on the shapes only, and identical calls give identical
// bits (DESIGN.md 3 and 7). oneDNN's OpenMP is limited to one thread in every pool
// thread, so it never splits a call itself.

import CDNNL
import CKernels
import Synchronization

public enum Gemm {
    /// Width of an output-column tile. Fixed for the reproducibility contract:
    /// changing it changes the bits of every run.
    public static let tileColumns = 128

    /// Most output rows of a tile. Fixed for the reproducibility contract. A
    /// weight gradient (rows = the layer's fan-in) is cut so that a tile's
    /// products and partial sums in `sumOfProducts` stay in a core's L2
    /// cache; a micro-batch's forward and input-gradient products (rows = m)
    /// are one block up to m = 256.
    public static let tileRows = 256

    /// Nanoseconds spent in `multiply` (both forms) while `timing` is on:
    /// the benchmark's measure of the GEMMs inside training steps.
    public static let elapsedNanoseconds = Atomic<Int>(0)
    /// Whether `multiply` adds its time to `elapsedNanoseconds`. Set it only
    /// while no product runs.
    nonisolated(unsafe) public static var timing = false

    private static func addElapsed(since start: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        elapsedNanoseconds.add(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000), ordering: .relaxed)
    }

    /// Number of column tiles a product with `columns` output columns is cut into.
    public static func tileCount(columns: Int) -> Int { (columns + tileColumns - 1) / tileColumns }

    /// How a product's `rows` output rows are cut: `count` blocks of `height`
    /// rows (the last one shorter), as even as a multiple of 16 (64 bytes) allows.
    public static func rowBlocks(rows: Int) -> (count: Int, height: Int) {
        let count = max(1, (rows + tileRows - 1) / tileRows)
        let height = max(16, ((rows + count - 1) / count + 15) / 16 * 16)
        return ((rows + height - 1) / height, height)
    }

    /// The rows and columns of tile `tile` of an (m, n) product (column tiles
    /// outermost, so consecutive tiles share their right operand's columns).
    static func tileBounds(_ tile: Int, m: Int, n: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let (blocks, height) = rowBlocks(rows: m)
        let column = tile / blocks * tileColumns
        let row = tile % blocks * height
        return (row..<min(row + height, m), column..<min(column + tileColumns, n))
    }

    /// Number of tiles of an (m, n) product.
    static func tileCount(rows m: Int, columns n: Int) -> Int { rowBlocks(rows: m).count * tileCount(columns: n) }

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
        let (m, n, k) = shape(a, transposeA: transposeA, b, transposeB: transposeB, into: c)
        if m == 0 || n == 0 { return }
        // The pool's workers limit themselves when they start, and so does the
        // thread that creates the pool; the caller may be another thread, and
        // it runs tiles too.
        _ = dpt_omp_set_one_thread()
        let start = timing ? ContinuousClock.now : nil
        defer { if let start { addElapsed(since: start) } }
        pool.parallelFor(
            tileCount(rows: m, columns: n),
            ProductTiles(a: a, transposeA: transposeA, b: b, transposeB: transposeB, c: c, m: m, n: n, k: k,
                         beta: accumulate ? 1 : 0))
    }

    /// Tile `tile` of C = op(A)·op(B) + beta·C: one `dnnl_sgemm` call.
    private struct ProductTiles: PoolJob {
        let a: Matrix, transposeA: Bool, b: Matrix, transposeB: Bool, c: Matrix
        let m: Int, n: Int, k: Int, beta: Float

        func run(_ tile: Int) {
            let (rows, columns) = tileBounds(tile, m: m, n: n)
            singleCall(
                transposeA: transposeA, transposeB: transposeB, m: rows.count, n: columns.count, k: k,
                a: a.rowsPointer(rows.lowerBound, transposed: transposeA), lda: a.rowStride,
                b: b.columnsPointer(columns.lowerBound, transposed: transposeB), ldb: b.rowStride,
                beta: beta, c: c.pointer + rows.lowerBound * c.rowStride + columns.lowerBound, ldc: c.rowStride)
        }
    }

    /// (M, N, K) of C = op(A)·op(B), checked against C's shape.
    private static func shape(
        _ a: Matrix, transposeA: Bool, _ b: Matrix, transposeB: Bool, into c: Matrix
    ) -> (m: Int, n: Int, k: Int) {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let n = transposeB ? b.rows : b.columns
        let kb = transposeB ? b.columns : b.rows
        precondition(k == kb && c.rows == m && c.columns == n,
                     "GEMM shapes: op(A) (\(m), \(k)) · op(B) (\(kb), \(n)) into C (\(c.rows), \(c.columns))")
        return (m, n, k)
    }

    /// Floats of per-thread scratch that `sumOfProducts` needs for `count`
    /// products with `rows` output rows.
    public static func sumScratchPerThread(rows: Int, count: Int) -> Int {
        (BalancedTree.depth(count) + 1) * rowBlocks(rows: rows).height * tileColumns
    }

    /// C = S_k + (… + (S_1 + T)), elementwise, where T is the balanced-tree
    /// sum of the products op(A_i)·op(B_i), i in 0..<a.count —
    /// T(lo, hi) = T(lo, mid) + T(mid, hi) with mid = lo + (hi − lo)/2 — and
    /// S_i are the matrices of C's shape and row stride that start at
    /// `addends[i − 1]` (C itself may be one of them, the last).
    ///
    /// Every product is the same single `dnnl_sgemm` call per column tile that
    /// `multiply` makes; a tile's products and sums stay in the running
    /// thread's part of `scratch` (`sumScratchPerThread` floats per pool
    /// thread) while they are in cache, and C is written once. So the bits are
    /// those of separate products followed by separate additions, for any
    /// shape — which `dnnl_sgemm`'s beta = 1 does not promise (GemmTests) —
    /// and C, the S_i and the partial sums cross memory once.
    public static func sumOfProducts(
        _ a: UnsafeBufferPointer<Matrix>, transposeA: Bool = false,
        _ b: UnsafeBufferPointer<Matrix>, transposeB: Bool = false,
        into c: Matrix, adding addends: UnsafeBufferPointer<UnsafePointer<Float>>,
        scratch: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        precondition(a.count == b.count && a.count > 0, "sumOfProducts: \(a.count) left and \(b.count) right operands")
        let (m, n, k) = shape(a[0], transposeA: transposeA, b[0], transposeB: transposeB, into: c)
        for i in 1..<a.count {
            precondition(shape(a[i], transposeA: transposeA, b[i], transposeB: transposeB, into: c).k == k,
                         "GEMM shapes: product \(i) has another inner dimension than product 0 (\(k))")
        }
        if m == 0 || n == 0 { return }
        _ = dpt_omp_set_one_thread()
        let start = timing ? ContinuousClock.now : nil
        defer { if let start { addElapsed(since: start) } }
        pool.parallelFor(
            tileCount(rows: m, columns: n),
            SummedTiles(
                a: a, transposeA: transposeA, b: b, transposeB: transposeB, c: c, addends: addends, scratch: scratch,
                perThread: sumScratchPerThread(rows: m, count: a.count), m: m, n: n, k: k))
    }

    /// Tile `tile` of `sumOfProducts`: the tree of products in the running
    /// thread's scratch, then the addends, then C.
    private struct SummedTiles: PoolJob {
        let a: UnsafeBufferPointer<Matrix>, transposeA: Bool, b: UnsafeBufferPointer<Matrix>, transposeB: Bool
        let c: Matrix, addends: UnsafeBufferPointer<UnsafePointer<Float>>, scratch: UnsafeMutablePointer<Float>
        let perThread: Int, m: Int, n: Int, k: Int

        func run(_ tile: Int) {
            let (rows, columns) = tileBounds(tile, m: m, n: n)
            let (height, width) = (rows.count, columns.count)
            let base = scratch + ThreadPool.currentThreadIndex * perThread
            let k = self.k
            let corner = rows.lowerBound * c.rowStride + columns.lowerBound
            // Level 0 of the tree is C's own tile when nothing is added to it.
            func level(_ index: Int) -> (pointer: UnsafeMutablePointer<Float>, stride: Int) {
                index == 0 && addends.isEmpty ? (c.pointer + corner, c.rowStride) : (base + index * height * width, width)
            }
            // Consecutive combines up the tree (level d + 1 into d, then d into
            // d − 1, …) run as one chain: out = L[top] + (… + (L[d] + L[d + 1])).
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: Int(DPT_CHAIN_MAX)) { inputs in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: Int(DPT_CHAIN_MAX)) { strides in
                    var chain: (top: Int, bottom: Int)?
                    func flush() {
                        guard let (top, bottom) = chain else { return }
                        chain = nil
                        let count = bottom - top + 2
                        for index in 0..<count {
                            let (pointer, stride) = level(top + index)
                            inputs[index] = UnsafePointer(pointer)
                            strides[index] = stride
                        }
                        let (out, outStride) = level(top)
                        dpt_add_chain(
                            out, outStride, UnsafePointer(inputs.baseAddress), UnsafePointer(strides.baseAddress),
                            Int32(count), height, width)
                    }
                    BalancedTree.reduce(a.count) { i, depth in
                        flush()
                        let target = level(depth)
                        singleCall(
                            transposeA: transposeA, transposeB: transposeB, m: height, n: width, k: k,
                            a: a[i].rowsPointer(rows.lowerBound, transposed: transposeA), lda: a[i].rowStride,
                            b: b[i].columnsPointer(columns.lowerBound, transposed: transposeB), ldb: b[i].rowStride,
                            beta: 0, c: target.pointer, ldc: target.stride)
                    } combine: { depth in
                        if let (top, bottom) = chain, top == depth + 1, bottom - depth + 2 <= Int(DPT_CHAIN_MAX) {
                            chain = (depth, bottom)
                        } else {
                            flush()
                            chain = (depth, depth)
                        }
                    }
                    flush()
                }
            }
            guard let outermost = addends.last else { return }
            let outermostIsC = outermost == UnsafePointer(c.pointer)
            for row in 0..<height {
                let x = base + row * width
                let offset = corner + row * c.rowStride
                for addend in addends.dropLast() {
                    dpt_add_matrices(x, 0, addend + offset, 0, x, 0, 1, width)
                }
                let target = c.pointer + offset
                if outermostIsC {
                    dpt_add_matrices(target, 0, target, 0, x, 0, 1, width)
                } else {
                    dpt_add_matrices(target, 0, outermost + offset, 0, x, 0, 1, width)
                }
            }
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

extension Matrix {
    /// Where op(self)'s rows from `row` on start: row `row` of the matrix, or
    /// column `row` when op transposes it.
    fileprivate func rowsPointer(_ row: Int, transposed: Bool) -> UnsafePointer<Float> {
        UnsafePointer(transposed ? pointer + row : pointer + row * rowStride)
    }

    /// Where op(self)'s columns from `column` on start: column `column` of
    /// the matrix, or row `column` when op transposes it.
    fileprivate func columnsPointer(_ column: Int, transposed: Bool) -> UnsafePointer<Float> {
        UnsafePointer(transposed ? pointer + column * rowStride : pointer + column)
    }
}
