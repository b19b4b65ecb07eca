// Gemm.sumOfProducts — the weight-gradient sum over a block of micro-batches —
// must have exactly the bits of separate products followed by separate
// additions in the balanced tree's order, then the addends, for any shape
// (also where dnnl_sgemm's beta = 1 would not), and any thread count.

import Engine
import Testing

@Suite struct SumOfProductsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var shape: GemmShape
        var count: Int
        var addends: Int
        var addendIsC: Bool
        var testDescription: String {
            "\(shape.testDescription) × \(count), \(addends) addend(s)\(addendIsC ? " ending in C" : "")"
        }
    }

    static let cases: [Case] = [
        Case(shape: GemmShape(m: 40, n: 300, k: 16, transposeA: true, transposeB: false), count: 1, addends: 0, addendIsC: false),
        Case(shape: GemmShape(m: 40, n: 300, k: 16, transposeA: true, transposeB: false), count: 4, addends: 0, addendIsC: false),
        Case(shape: GemmShape(m: 33, n: 129, k: 500, transposeA: true, transposeB: false), count: 3, addends: 1, addendIsC: true),
        Case(shape: GemmShape(m: 17, n: 1, k: 64, transposeA: true, transposeB: false), count: 5, addends: 2, addendIsC: true),
        Case(shape: GemmShape(m: 1, n: 200, k: 8, transposeA: false, transposeB: true), count: 2, addends: 2, addendIsC: false),
        Case(shape: GemmShape(m: 9, n: 260, k: 12, transposeA: false, transposeB: false), count: 7, addends: 3, addendIsC: true),
        // Several row blocks (Gemm.tileRows) and column tiles, as a wide layer's weight gradient.
        Case(shape: GemmShape(m: 600, n: 150, k: 8, transposeA: true, transposeB: false), count: 4, addends: 0, addendIsC: false),
        Case(shape: GemmShape(m: 530, n: 140, k: 6, transposeA: true, transposeB: false), count: 3, addends: 2, addendIsC: true),
    ]

    /// The reference: each product on its own (`Gemm.multiply`), the tree by
    /// hand, then S_1 + T, S_2 + (…), elementwise.
    static func reference(_ operands: [GemmOperands], addends: [FloatBuffer]) -> [Float] {
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        let shape = operands[0].shape
        let products = operands.map { operand in
            let c = FloatBuffer(count: shape.m * shape.n)
            Gemm.multiply(operand.aMatrix, transposeA: shape.transposeA, operand.bMatrix, transposeB: shape.transposeB,
                          into: Matrix(c, rows: shape.m, columns: shape.n), pool: pool)
            return c.array
        }
        func tree(_ lo: Int, _ hi: Int) -> [Float] {
            if hi - lo == 1 { return products[lo] }
            let middle = lo + (hi - lo) / 2
            let left = tree(lo, middle)
            let right = tree(middle, hi)
            return zip(left, right).map { $0 + $1 }
        }
        var result = tree(0, operands.count)
        for addend in addends {
            result = zip(addend.array, result).map { $0 + $1 }
        }
        return result
    }

    @Test("sumOfProducts has the bits of separate products and sums", arguments: cases)
    func sumHasTheBitsOfSeparateProductsAndSums(example: Case) {
        let shape = example.shape
        let operands = (0..<example.count).map { GemmOperands(shape, seed: UInt64(40 + 2 * $0)) }
        let addends = (0..<example.addends).map { FloatBuffer.random(count: shape.m * shape.n, seed: UInt64(90 + $0)) }
        let expected = Self.reference(operands, addends: addends).map(\.bitPattern)
        for threads in [1, 2, 3] {
            let pool = ThreadPool(threadCount: threads)
            defer { pool.shutdown() }
            let inputs = addends.map { buffer in
                let copy = FloatBuffer(count: buffer.count)
                copy.copy(from: buffer)
                return copy
            }
            // C is the last addend itself, or a fresh buffer whose NaNs must all be overwritten.
            let c: FloatBuffer
            if example.addendIsC, let last = inputs.last {
                c = last
            } else {
                c = FloatBuffer(count: shape.m * shape.n)
                c.fill(.nan)
            }
            let scratch = FloatBuffer(count: threads * Gemm.sumScratchPerThread(rows: shape.m, count: example.count))
            let a = operands.map(\.aMatrix)
            let b = operands.map(\.bMatrix)
            let pointers = inputs.map { UnsafePointer($0.pointer) }
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    pointers.withUnsafeBufferPointer { pointers in
                        Gemm.sumOfProducts(
                            a, transposeA: shape.transposeA, b, transposeB: shape.transposeB,
                            into: Matrix(c, rows: shape.m, columns: shape.n), adding: pointers,
                            scratch: scratch.pointer, pool: pool)
                    }
                }
            }
            #expect(c.array.map(\.bitPattern) == expected, "\(threads) threads")
        }
    }
}

@Suite struct BalancedTreeTests {
    /// The order of `reduce` and `reduceInPlace` over 5 leaves is
    /// ((0 + 1) + (2 + (3 + 4))), the order of every micro-batch sum.
    @Test func bothWalksFollowTheBisectionOrder() {
        var partial = [String](repeating: "", count: BalancedTree.depth(5) + 1)
        BalancedTree.reduce(5) { leaf, level in
            partial[level] = "\(leaf)"
        } combine: { level in
            partial[level] = "(\(partial[level]) + \(partial[level + 1]))"
        }
        #expect(partial[0] == "((0 + 1) + (2 + (3 + 4)))")
        var leaves = (0..<5).map { "\($0)" }
        BalancedTree.reduceInPlace(5) { into, from in leaves[into] = "(\(leaves[into]) + \(leaves[from]))" }
        #expect(leaves[0] == partial[0])
        #expect(BalancedTree.depth(5) == 3)
        #expect(BalancedTree.depth(1) == 0)
        #expect(BalancedTree.depth(8) == 3)
    }
}
