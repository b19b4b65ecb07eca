// Gemm.multiply against a naive Double product, its independence of the
// thread count, and the beta = 1 accumulation property DESIGN.md 3 relies on.

import Engine
import Foundation
import Testing

/// One product shape: op(A) is (m, k), op(B) is (k, n).
struct GemmShape: CustomTestStringConvertible, Sendable {
    var m: Int
    var n: Int
    var k: Int
    var transposeA: Bool
    var transposeB: Bool

    var testDescription: String {
        "\(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B") M=\(m) N=\(n) K=\(k)"
    }

    var aRows: Int { transposeA ? k : m }
    var aColumns: Int { transposeA ? m : k }
    var bRows: Int { transposeB ? n : k }
    var bColumns: Int { transposeB ? k : n }

    static func allTranspositions(m: Int, n: Int, k: Int) -> [GemmShape] {
        [(false, false), (true, false), (false, true), (true, true)].map {
            GemmShape(m: m, n: n, k: k, transposeA: $0.0, transposeB: $0.1)
        }
    }
}

/// Operands of one product, with freshly drawn values.
struct GemmOperands {
    let shape: GemmShape
    let a: FloatBuffer
    let b: FloatBuffer

    init(_ shape: GemmShape, seed: UInt64) {
        self.shape = shape
        a = .random(count: shape.m * shape.k, seed: seed)
        b = .random(count: shape.k * shape.n, seed: seed &+ 1)
    }

    var aMatrix: Matrix { Matrix(a, rows: shape.aRows, columns: shape.aColumns) }
    var bMatrix: Matrix { Matrix(b, rows: shape.bRows, columns: shape.bColumns) }

    /// op(A)[i, p]
    func opA(_ i: Int, _ p: Int) -> Float {
        shape.transposeA ? a.pointer[p * shape.m + i] : a.pointer[i * shape.k + p]
    }

    /// op(B)[p, j]
    func opB(_ p: Int, _ j: Int) -> Float {
        shape.transposeB ? b.pointer[j * shape.k + p] : b.pointer[p * shape.n + j]
    }

    /// C = op(A)·op(B) with `threads` threads into a new buffer.
    func product(threads: Int) -> FloatBuffer {
        let c = FloatBuffer(count: shape.m * shape.n)
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        Gemm.multiply(aMatrix, transposeA: shape.transposeA, bMatrix, transposeB: shape.transposeB,
                      into: Matrix(c, rows: shape.m, columns: shape.n), pool: pool)
        return c
    }

    /// Checks c[i, j] (row stride `ldc`, minus `offset`) against the Double
    /// product within the worst-case Float rounding bound of a K-term dot product.
    func expectMatchesNaiveProduct(
        _ c: UnsafePointer<Float>, ldc: Int, minus offset: (Int, Int) -> Float = { _, _ in 0 },
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var worst = 0.0
        for i in 0..<shape.m {
            for j in 0..<shape.n {
                var exact = 0.0
                var magnitude = 0.0
                for p in 0..<shape.k {
                    let term = Double(opA(i, p)) * Double(opB(p, j))
                    exact += term
                    magnitude += abs(term)
                }
                let bound = Double(shape.k + 2) * Double(Float.ulpOfOne) * (magnitude + 1e-30)
                let error = abs(Double(c[i * ldc + j]) - Double(offset(i, j)) - exact)
                worst = max(worst, error / bound)
            }
        }
        #expect(worst <= 1, "largest error is \(worst) times the rounding bound", sourceLocation: sourceLocation)
    }
}

@Suite("Gemm")
struct GemmTests {
    static let shapes: [GemmShape] =
        GemmShape.allTranspositions(m: 7, n: 300, k: 13)
        + GemmShape.allTranspositions(m: 1, n: 1, k: 1)
        + GemmShape.allTranspositions(m: 3, n: 128, k: 5)
        + GemmShape.allTranspositions(m: 5, n: 129, k: 2)
        + GemmShape.allTranspositions(m: 16, n: 257, k: 33)
        // Several row blocks (Gemm.tileRows): 3 of 208 rows, the last one shorter.
        + GemmShape.allTranspositions(m: 600, n: 150, k: 7)

    @Test("Gemm.multiply matches a naive Double product", arguments: shapes)
    func productMatchesNaiveDoubleProduct(shape: GemmShape) {
        let operands = GemmOperands(shape, seed: 11)
        let c = operands.product(threads: 2)
        operands.expectMatchesNaiveProduct(c.pointer, ldc: shape.n)
    }

    @Test("Gemm.multiply gives the same bits for 1, 2 and 3 threads", arguments: shapes)
    func productIsBitwiseIndependentOfThreadCount(shape: GemmShape) {
        let operands = GemmOperands(shape, seed: 12)
        let single = operands.product(threads: 1).bits
        #expect(operands.product(threads: 2).bits == single)
        #expect(operands.product(threads: 3).bits == single)
    }

    @Test("rows are cut into even blocks of at most tileRows, 64-byte multiples")
    func rowBlocksAreEvenAndAligned() {
        #expect(Gemm.rowBlocks(rows: 64) == (1, 64))
        #expect(Gemm.rowBlocks(rows: 256) == (1, 256))
        #expect(Gemm.rowBlocks(rows: 257) == (2, 144))
        #expect(Gemm.rowBlocks(rows: 784) == (4, 208))
        #expect(Gemm.rowBlocks(rows: 1024) == (4, 256))
        #expect(Gemm.rowBlocks(rows: 3) == (1, 16))
        for rows in 1...2000 {
            let (count, height) = Gemm.rowBlocks(rows: rows)
            #expect(height <= Gemm.tileRows && height % 16 == 0 && count * height >= rows && (count - 1) * height < rows,
                    "\(rows) rows: \(count) × \(height)")
        }
    }

    @Test("accumulate adds the product to what C holds", arguments: GemmShape.allTranspositions(m: 7, n: 300, k: 13))
    func accumulateAddsToC(shape: GemmShape) {
        let operands = GemmOperands(shape, seed: 13)
        let initial = FloatBuffer.random(count: shape.m * shape.n, seed: 99)
        let c = FloatBuffer(count: initial.count)
        c.copy(from: initial)
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        Gemm.multiply(operands.aMatrix, transposeA: shape.transposeA, operands.bMatrix, transposeB: shape.transposeB,
                      into: Matrix(c, rows: shape.m, columns: shape.n), accumulate: true, pool: pool)
        operands.expectMatchesNaiveProduct(c.pointer, ldc: shape.n) { i, j in initial.pointer[i * shape.n + j] }
    }

    @Test("Gemm.multiply honours row strides wider than the columns",
          arguments: GemmShape.allTranspositions(m: 6, n: 140, k: 9) + GemmShape.allTranspositions(m: 270, n: 140, k: 9))
    func stridedViewsAreRespected(shape: GemmShape) {
        // Copy the operands into wider rows; the padding holds NaN so reading it would show.
        let operands = GemmOperands(shape, seed: 14)
        let pad = 3
        let a = FloatBuffer(count: shape.aRows * (shape.aColumns + pad))
        let b = FloatBuffer(count: shape.bRows * (shape.bColumns + pad))
        let c = FloatBuffer(count: shape.m * (shape.n + pad))
        a.fill(.nan)
        b.fill(.nan)
        c.fill(-7)
        for r in 0..<shape.aRows {
            for s in 0..<shape.aColumns { a.pointer[r * (shape.aColumns + pad) + s] = operands.a.pointer[r * shape.aColumns + s] }
        }
        for r in 0..<shape.bRows {
            for s in 0..<shape.bColumns { b.pointer[r * (shape.bColumns + pad) + s] = operands.b.pointer[r * shape.bColumns + s] }
        }
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        Gemm.multiply(
            Matrix(a.pointer, rows: shape.aRows, columns: shape.aColumns, rowStride: shape.aColumns + pad),
            transposeA: shape.transposeA,
            Matrix(b.pointer, rows: shape.bRows, columns: shape.bColumns, rowStride: shape.bColumns + pad),
            transposeB: shape.transposeB,
            into: Matrix(c.pointer, rows: shape.m, columns: shape.n, rowStride: shape.n + pad), pool: pool)
        operands.expectMatchesNaiveProduct(c.pointer, ldc: shape.n + pad)
        for i in 0..<shape.m {
            for j in shape.n..<(shape.n + pad) { #expect(c.pointer[i * (shape.n + pad) + j] == -7) }
        }
    }

    @Test("an empty inner dimension sets C to zero, or leaves it when accumulating", arguments: [false, true])
    func emptyInnerDimension(accumulate: Bool) {
        let a = FloatBuffer(count: 0)
        let b = FloatBuffer(count: 0)
        let c = FloatBuffer(count: 4 * 3)
        c.fill(accumulate ? 2.5 : .nan)
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        Gemm.multiply(Matrix(a, rows: 0, columns: 4), transposeA: true, Matrix(b, rows: 0, columns: 3),
                      into: Matrix(c, rows: 4, columns: 3), accumulate: accumulate, pool: pool)
        #expect(c.array == Array(repeating: accumulate ? 2.5 : 0, count: 12))
    }

    // DESIGN.md 3: a beta = 1 call into C holding P1 gives the same bits as
    // computing P1 and P2 separately and adding them. Measured with this
    // oneDNN: with its AVX-512 kernels it holds while K ≤ 384 and both M and
    // N are at least 2; with its AVX2 kernels (a CPU without AVX-512) Aᵀ·B
    // holds up to K = 96 and not from K = 128 (tiles of 64…256 × 10 or 128),
    // so the shapes below keep K ≤ 96 for Aᵀ·B and the next list holds the
    // ones that depend on the kernels. The engine itself never uses beta = 1.
    static let accumulationShapes: [GemmShape] = [
        GemmShape(m: 784, n: 256, k: 32, transposeA: true, transposeB: false),   // dW of 784-256 at m = 32
        GemmShape(m: 256, n: 128, k: 64, transposeA: true, transposeB: false),
        GemmShape(m: 13, n: 300, k: 7, transposeA: true, transposeB: false),
        GemmShape(m: 2, n: 2, k: 3, transposeA: true, transposeB: false),
        GemmShape(m: 32, n: 256, k: 256, transposeA: false, transposeB: false),  // forward shape
        GemmShape(m: 32, n: 784, k: 256, transposeA: false, transposeB: true),   // input-gradient shape
        GemmShape(m: 7, n: 300, k: 13, transposeA: true, transposeB: true),
    ]

    // ...and where it does not: oneDNN blocks K (at 384 here) and adds C in
    // with the first block, and its GEMV path for M = 1 or N = 1 adds C with a
    // fused multiply-add. A micro-batch of more than 384 rows, or a layer of
    // width 1, must not rely on beta = 1 accumulation.
    static let nonAccumulatingShapes: [GemmShape] = [
        GemmShape(m: 784, n: 256, k: 512, transposeA: true, transposeB: false),  // dW at m = 512
        GemmShape(m: 64, n: 32, k: 400, transposeA: true, transposeB: false),
        GemmShape(m: 32, n: 1, k: 32, transposeA: true, transposeB: false),     // dW of a 1-wide output layer
        GemmShape(m: 256, n: 1, k: 2, transposeA: true, transposeB: false),
        GemmShape(m: 1, n: 256, k: 8, transposeA: true, transposeB: false),
        GemmShape(m: 32, n: 256, k: 784, transposeA: false, transposeB: false),  // forward shape, K = 784
    ]

    /// Elements of P1 + op(A2)·op(B2) computed with beta = 1 whose bits differ from P1 + P2.
    static func accumulationMismatches(_ shape: GemmShape) -> Int {
        let first = GemmOperands(shape, seed: 21)
        let second = GemmOperands(shape, seed: 23)
        let p1 = first.product(threads: 2)
        let p2 = second.product(threads: 2)
        let accumulated = FloatBuffer(count: p1.count)
        accumulated.copy(from: p1)
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        Gemm.multiply(second.aMatrix, transposeA: shape.transposeA, second.bMatrix, transposeB: shape.transposeB,
                      into: Matrix(accumulated, rows: shape.m, columns: shape.n), accumulate: true, pool: pool)
        var mismatches = 0
        for i in 0..<p1.count where accumulated.pointer[i].bitPattern != (p1.pointer[i] + p2.pointer[i]).bitPattern {
            mismatches += 1
        }
        return mismatches
    }

    @Test("beta = 1 accumulation equals product-then-add bit for bit", arguments: accumulationShapes)
    func betaOneAccumulationEqualsProductThenAdd(shape: GemmShape) {
        #expect(Self.accumulationMismatches(shape) == 0)
    }

    // Exact with oneDNN's AVX-512 kernels, not with its AVX2 ones (measured on
    // an AVX2-only EPYC: 311240 and 4051 elements differ).
    static let avx512AccumulationShapes: [GemmShape] = [
        GemmShape(m: 1024, n: 1024, k: 128, transposeA: true, transposeB: false),
        GemmShape(m: 1024, n: 10, k: 256, transposeA: true, transposeB: false),  // dW of a 10-wide output layer
    ]

    /// Whether the CPU has AVX-512 (oneDNN then takes its AVX-512 kernels).
    static let cpuHasAVX512: Bool = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return info.split(separator: "\n").contains { line in
            line.hasPrefix("flags") && line.split(separator: " ").contains("avx512f")
        }
    }()

    @Test("beta = 1 accumulation of Aᵀ·B with 128 ≤ K ≤ 384 is exact with AVX-512 kernels, not with AVX2 ones",
          arguments: avx512AccumulationShapes)
    func betaOneAccumulationDependsOnTheKernels(shape: GemmShape) {
        if Self.cpuHasAVX512 {
            #expect(Self.accumulationMismatches(shape) == 0)
        } else {
            withKnownIssue("oneDNN's AVX2 kernels round C + P2 differently from a separate product then add here") {
                #expect(Self.accumulationMismatches(shape) == 0)
            }
        }
    }

    @Test("beta = 1 accumulation differs from product-then-add for K > 384 and for M or N = 1",
          arguments: nonAccumulatingShapes)
    func betaOneAccumulationDiffersOnSomeShapes(shape: GemmShape) {
        withKnownIssue("oneDNN rounds C + P2 differently from a separate product then add on this shape") {
            #expect(Self.accumulationMismatches(shape) == 0)
        }
    }
}

@Suite("Gemm threading")
struct GemmThreadingTests {
    /// omp_get_max_threads() of the calling thread, looked up the way the shim does.
    static func openMPMaximumThreads() -> Int32? {
        typealias Query = @convention(c) () -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_get_max_threads") else { return nil }
        return unsafeBitCast(symbol, to: Query.self)()
    }

    @Test("a product computed from a thread other than the pool's creator keeps oneDNN single-threaded")
    func callerThreadIsLimitedToOneOpenMPThread() {
        let shape = GemmShape(m: 8, n: 130, k: 64, transposeA: true, transposeB: false)
        let operands = GemmOperands(shape, seed: 31)
        let pool = ThreadPool(threadCount: 2)
        defer { pool.shutdown() }
        let expected = operands.product(threads: 1).bits
        let c = FloatBuffer(count: shape.m * shape.n)
        let shared = UncheckedSendable((operands, pool, c))
        let result = UncheckedSendable(UnsafeMutablePointer<Int32>.allocate(capacity: 1))
        defer { result.value.deallocate() }
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            let (operands, pool, c) = shared.value
            Gemm.multiply(operands.aMatrix, transposeA: true, operands.bMatrix,
                          into: Matrix(c, rows: shape.m, columns: shape.n), pool: pool)
            result.value.pointee = GemmThreadingTests.openMPMaximumThreads() ?? -1
            finished.signal()
        }
        thread.start()
        finished.wait()
        #expect(result.value.pointee == 1)
        #expect(c.bits == expected)
    }
}
