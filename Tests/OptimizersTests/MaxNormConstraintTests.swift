// MaxNormConstraint: a (4, 3) tensor inside a larger arena against a hand
// computation, columns at or under the limit untouched, bitwise independence from
// the thread count, validation messages.

import Engine
import Optimizers
import Testing

@Suite struct MaxNormConstraintTests {
    @Test func rescalesColumnsAboveTheLimitByHand() {
        // (in 4, out 3) row-major at offset 5 of a 20-float arena, c = 2:
        //   column 0 = (3, 4, 0, 0)    norm 5  → × 2/(5 + 1e-7) ≈ (1.2, 1.6, 0, 0)
        //   column 1 = (1, −1, 1, −1)  norm 2  → at the limit, unchanged
        //   column 2 = (2, 2, 2, 2)    norm 4  → × 2/(4 + 1e-7) ≈ (1, 1, 1, 1)
        let tensor: [Float] = [
            3, 1, 2,
            4, -1, 2,
            0, 1, 2,
            0, -1, 2,
        ]
        let arena = FloatBuffer((0..<20).map { Float(100 + $0) })
        for (k, value) in tensor.enumerated() { arena[5 + k] = value }
        withPool(threadCount: 2) { pool in
            MaxNormConstraint(maxNorm: 2).apply(to: arena, offset: 5, inputs: 4, outputs: 3, pool: pool)
        }
        let result = Array(arena.array[5..<17])
        let s0 = Float(2 / (5 + 1e-7)), s2 = Float(2 / (4 + 1e-7))
        #expect(
            result == [
                3 * s0, 1, 2 * s2,
                4 * s0, -1, 2 * s2,
                0, 1, 2 * s2,
                0, -1, 2 * s2,
            ])
        let hand: [Float] = [1.2, 1, 1, 1.6, -1, 1, 0, 1, 1, 0, -1, 1]
        #expect(zip(result, hand).allSatisfy { abs($0 - $1) < 1e-6 })
        // Nothing outside the tensor moved.
        #expect(Array(arena.array[..<5]) == [100, 101, 102, 103, 104])
        #expect(Array(arena.array[17...]) == [117, 118, 119])
    }

    @Test func columnsWithinTheLimitAreUntouched() {
        let start = initialParameters(count: 60)
        let arena = FloatBuffer(start)
        withPool(threadCount: 1) { pool in
            MaxNormConstraint(maxNorm: 3).apply(to: arena, offset: 0, inputs: 6, outputs: 10, pool: pool)
        }
        // Each column holds 6 values of magnitude ≤ 1: norm ≤ √6 < 3.
        #expect(arena.array == start)
    }

    @Test func resultIsBitwiseIdenticalForOneTwoAndThreeThreads() {
        // 700 columns: three tiles of 256, the last one short; norms well above c = 1.
        let inputs = 300, outputs = 700
        let results = [1, 2, 3].map { threads -> [UInt32] in
            let arena = FloatBuffer(gradients(count: inputs * outputs + 9, step: 5))
            withPool(threadCount: threads) { pool in
                MaxNormConstraint(maxNorm: 1).apply(to: arena, offset: 9, inputs: inputs, outputs: outputs, pool: pool)
            }
            return bits(arena)
        }
        #expect(results[1] == results[0])
        #expect(results[2] == results[0])
        // Every column now has norm ≤ c (up to Float rounding).
        let arena = FloatBuffer(gradients(count: inputs * outputs + 9, step: 5))
        withPool(threadCount: 2) { pool in
            MaxNormConstraint(maxNorm: 1).apply(to: arena, offset: 9, inputs: inputs, outputs: outputs, pool: pool)
        }
        for j in stride(from: 0, to: outputs, by: 37) {
            let norm = (0..<inputs).reduce(0.0) { sum, i in
                let value = Double(arena[9 + i * outputs + j])
                return sum + value * value
            }.squareRoot()
            #expect(norm <= 1 + 1e-6)
        }
    }

    @Test(arguments: [
        (MaxNormConstraint(maxNorm: 0), "max-norm maxNorm must be finite and > 0, got 0.0"),
        (MaxNormConstraint(maxNorm: -3), "max-norm maxNorm must be finite and > 0, got -3.0"),
    ])
    func invalidLimitGivesOneLineMessage(constraint: MaxNormConstraint, expected: String) {
        #expect(hyperparameterMessage { try constraint.validate() } == expected)
    }

    @Test func defaultLimitIsThree() {
        #expect(MaxNormConstraint().maxNorm == 3)
    }
}
