// GradientClipping: the global norm against a plain Double sum and against the
// documented partition, bitwise the same for 1, 2 and 3 threads; clipping by norm
// (PyTorch's coefficient, clamped at 1) and by value; validation messages.

import Engine
import Foundation
import Optimizers
import Testing

@Suite struct GradientClippingTests {
    /// 100_003 elements: 25 chunks of 4096 with a short last one of 1699.
    static let count = 100_003

    func values(count: Int) -> [Float] {
        (0..<count).map { Float(sin(0.013 * Double($0) + 0.3) * (1 + Double($0 % 7))) }
    }

    /// The partition GradientClipping documents, written out plainly.
    func documentedNorm(_ x: [Float]) -> Double {
        var chunkSums: [Double] = []
        var start = 0
        while start < x.count {
            let chunk = x[start..<min(start + 4096, x.count)]
            var lanes = [Double](repeating: 0, count: 8)
            for (offset, value) in chunk.enumerated() { lanes[offset % 8] += Double(value) * Double(value) }
            chunkSums.append(
                ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])))
            start += 4096
        }
        func tree(_ sums: ArraySlice<Double>) -> Double {
            if sums.count == 1 { return sums[sums.startIndex] }
            let middle = sums.startIndex + sums.count / 2
            return tree(sums[..<middle]) + tree(sums[middle...])
        }
        return chunkSums.isEmpty ? 0 : tree(chunkSums[...]).squareRoot()
    }

    @Test func globalNormMatchesADoubleReference() {
        let x = values(count: Self.count)
        let reference = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let norm = withPool(threadCount: 2) { GradientClipping.globalNorm(gradients: FloatBuffer(x), pool: $0) }
        #expect(abs(norm - reference) / reference < 1e-13)
    }

    @Test(arguments: [1, 4095, 4096, 4097, 8 * 4096 + 3, count])
    func globalNormUsesTheDocumentedPartition(count: Int) {
        let x = values(count: count)
        let norm = withPool(threadCount: 3) { GradientClipping.globalNorm(gradients: FloatBuffer(x), pool: $0) }
        #expect(norm.bitPattern == documentedNorm(x).bitPattern)
    }

    @Test func globalNormIsBitwiseIdenticalForOneTwoAndThreeThreads() {
        let gradients = FloatBuffer(values(count: Self.count))
        let norms = [1, 2, 3].map { threads in
            withPool(threadCount: threads) { GradientClipping.globalNorm(gradients: gradients, pool: $0) }.bitPattern
        }
        #expect(norms[1] == norms[0])
        #expect(norms[2] == norms[0])
    }

    @Test func normOfARangeIsTheNormOfThoseElements() {
        let x = values(count: 20_000)
        let buffer = FloatBuffer(x)
        withPool(threadCount: 2) { pool in
            let part = GradientClipping.norm(of: buffer, range: 1234..<15_000, pool: pool)
            let alone = GradientClipping.globalNorm(gradients: FloatBuffer(Array(x[1234..<15_000])), pool: pool)
            #expect(part.bitPattern == alone.bitPattern)
            #expect(GradientClipping.norm(of: buffer, range: 7..<7, pool: pool) == 0)
        }
    }

    @Test func clipByNormScalesByMaxNormOverNormPlusEpsilon() {
        let gradients = FloatBuffer([3, 0, -4, 0])
        let norm = withPool(threadCount: 1) { GradientClipping.clipByNorm(gradients: gradients, maxNorm: 1, pool: $0) }
        #expect(norm == 5)
        let scale = Float(1 / (5 + 1e-6))
        #expect(gradients.array == [3 * scale, 0, -4 * scale, 0])
        // By hand: (0.6, 0, −0.8, 0) up to the 1e-6.
        #expect(zip(gradients.array, [0.6, 0, -0.8, 0] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func clipByNormLeavesSmallGradientsAlone() {
        let start: [Float] = [0.3, -0.4, 0.1]
        let gradients = FloatBuffer(start)
        let norm = withPool(threadCount: 1) { GradientClipping.clipByNorm(gradients: gradients, maxNorm: 10, pool: $0) }
        #expect(abs(norm - (0.26 as Double).squareRoot()) < 1e-7)
        #expect(gradients.array == start)
    }

    @Test func clipByNormScalesAtExactlyMaxNormLikePyTorch() {
        // PyTorch's coefficient maxNorm / (norm + 1e-6) is just below 1 when norm == maxNorm.
        let gradients = FloatBuffer([3, 4])
        withPool(threadCount: 1) { _ = GradientClipping.clipByNorm(gradients: gradients, maxNorm: 5, pool: $0) }
        let scale = Float(5 / (5 + 1e-6))
        #expect(gradients.array == [3 * scale, 4 * scale])
    }

    @Test func clipByNormLeavesNonFiniteGradientsForTheCaller() {
        let gradients = FloatBuffer([1, .nan, 2])
        let norm = withPool(threadCount: 1) { GradientClipping.clipByNorm(gradients: gradients, maxNorm: 1, pool: $0) }
        #expect(norm.isNaN)
        #expect(gradients[0] == 1 && gradients[1].isNaN && gradients[2] == 2)
    }

    @Test func clipByNormIsBitwiseIdenticalForOneTwoAndThreeThreads() {
        let results = [1, 2, 3].map { threads -> [UInt32] in
            let gradients = FloatBuffer(values(count: Self.count))
            withPool(threadCount: threads) {
                _ = GradientClipping.clipByNorm(gradients: gradients, maxNorm: 1, pool: $0)
            }
            return bits(gradients)
        }
        #expect(results[1] == results[0])
        #expect(results[2] == results[0])
    }

    @Test func clipByValueClampsEachElement() {
        let gradients = FloatBuffer([-3, -1, -0.5, 0, 0.5, 1, 3, .infinity])
        withPool(threadCount: 1) { GradientClipping.clipByValue(gradients: gradients, limit: 1, pool: $0) }
        #expect(gradients.array == [-1, -1, -0.5, 0, 0.5, 1, 1, 1])
        let withNaN = FloatBuffer([.nan, 2])
        withPool(threadCount: 1) { GradientClipping.clipByValue(gradients: withNaN, limit: 1, pool: $0) }
        #expect(withNaN[0].isNaN && withNaN[1] == 1)
    }

    @Test func applyReturnsTheNormBeforeClipping() {
        withPool(threadCount: 2) { pool in
            let byValue = FloatBuffer([3, 4])
            #expect(GradientClipping.byValue(limit: 1).apply(to: byValue, pool: pool) == 5)
            #expect(byValue.array == [1, 1])
            let byNorm = FloatBuffer([3, 4])
            #expect(GradientClipping.byNorm(maxNorm: 2.5).apply(to: byNorm, pool: pool) == 5)
            let scale = Float(2.5 / (5 + 1e-6))
            #expect(byNorm.array == [3 * scale, 4 * scale])
        }
    }

    @Test(arguments: [
        (GradientClipping.byNorm(maxNorm: 0), "clipping maxNorm must be finite and > 0, got 0.0"),
        (.byNorm(maxNorm: -1), "clipping maxNorm must be finite and > 0, got -1.0"),
        (.byValue(limit: -0.5), "clipping limit must be finite and > 0, got -0.5"),
        (.byValue(limit: .nan), "clipping limit must be finite and > 0, got nan"),
    ])
    func invalidSettingGivesOneLineMessage(clipping: GradientClipping, expected: String) {
        #expect(hyperparameterMessage { try clipping.validate() } == expected)
    }

    @Test func codableRoundTripPreservesSetting() throws {
        for clipping in [GradientClipping.byNorm(maxNorm: 1.5), .byValue(limit: 0.25)] {
            #expect(try JSONDecoder().decode(GradientClipping.self, from: JSONEncoder().encode(clipping)) == clipping)
        }
    }
}
