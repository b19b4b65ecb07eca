// WeightPenalty: coupled L2 and L1 added to the gradient on the masked ranges only,
// against a Double reference; sign(0) = 0; the mask type; validation messages.

import Engine
import Foundation
import Optimizers
import Testing

@Suite struct WeightPenaltyTests {
    static let count = 40
    /// Two weight tensors; 5..<8 and 14..<20 stand for biases and are left out.
    static let mask = DecayMask(ranges: [0..<5, 8..<14, 20..<36])

    func weights() -> [Float] {
        (0..<Self.count).map { $0 % 9 == 4 ? 0 : Float(cos(0.9 * Double($0)) * 2) }
    }

    func run(_ penalty: WeightPenalty, threads: Int = 2) -> (gradients: [Float], start: [Float]) {
        let start = initialParameters(count: Self.count)
        let gradients = FloatBuffer(start)
        withPool(threadCount: threads) { pool in
            penalty.apply(parameters: FloatBuffer(weights()), gradients: gradients, mask: Self.mask, pool: pool)
        }
        return (gradients.array, start)
    }

    func isMasked(_ index: Int) -> Bool {
        Self.mask.ranges.contains { $0.contains(index) }
    }

    @Test(arguments: [(Float(0.01), Float(0)), (0, 0.003), (0.05, 0.02)])
    func penaltyAppliesToMaskedRangesOnly(l2: Float, l1: Float) {
        let (gradients, start) = run(WeightPenalty(l2: l2, l1: l1))
        let w = weights()
        for i in 0..<Self.count {
            if isMasked(i) {
                let sign: Double = w[i] > 0 ? 1 : (w[i] < 0 ? -1 : 0)
                let expected = Double(start[i]) + Double(l2) * Double(w[i]) + Double(l1) * sign
                #expect(abs(Double(gradients[i]) - expected) <= 1e-6 * max(1, abs(expected)), "element \(i)")
            } else {
                #expect(gradients[i].bitPattern == start[i].bitPattern, "element \(i) outside the mask changed")
            }
        }
        // The penalty changed something, so the comparison is not trivial.
        #expect(gradients != start)
    }

    @Test(arguments: [3..<11, 0..<40, 6..<7, 36..<40])
    func withinARangeTheOthersAreNeitherChangedNorRead(range: Range<Int>) {
        let penalty = WeightPenalty(l2: 0.05, l1: 0.02)
        let whole = run(penalty).gradients
        let start = initialParameters(count: Self.count)
        let gradients = FloatBuffer(start)
        // NaN weights outside the range would spread into the gradient if read.
        let w = weights().enumerated().map { range.contains($0.offset) ? $0.element : Float.nan }
        withPool(threadCount: 2) { pool in
            penalty.apply(parameters: FloatBuffer(w), gradients: gradients, mask: Self.mask, within: range, pool: pool)
        }
        for i in 0..<Self.count {
            let expected = range.contains(i) ? whole[i] : start[i]
            #expect(gradients[i].bitPattern == expected.bitPattern, "element \(i)")
        }
    }

    @Test func l1LeavesZeroWeightsAlone() {
        let (gradients, start) = run(WeightPenalty(l1: 0.5))
        for i in 0..<Self.count where isMasked(i) && weights()[i] == 0 {
            #expect(gradients[i] == start[i])
        }
        #expect(weights()[4] == 0 && isMasked(4))
    }

    @Test func zeroPenaltyChangesNothing() {
        let (gradients, start) = run(WeightPenalty())
        #expect(gradients == start)
        #expect(!WeightPenalty().isActive)
    }

    @Test func resultIsBitwiseIdenticalForOneAndThreeThreads() {
        let count = 100_003
        let mask = DecayMask(ranges: [10..<40_000, 50_000..<count])
        let results = [1, 3].map { threads -> [UInt32] in
            let parameters = FloatBuffer(gradients(count: count, step: 2))
            let gradientBuffer = FloatBuffer(initialParameters(count: count))
            withPool(threadCount: threads) { pool in
                WeightPenalty(l2: 0.01, l1: 0.001).apply(
                    parameters: parameters, gradients: gradientBuffer, mask: mask, pool: pool)
            }
            return bits(gradientBuffer)
        }
        #expect(results[0] == results[1])
    }

    @Test func maskDropsEmptyRangesAndCountsElements() {
        let mask = DecayMask(ranges: [0..<3, 5..<5, 7..<10])
        #expect(mask.ranges == [0..<3, 7..<10])
        #expect(mask.elementCount == 6)
        #expect(DecayMask.all(count: 12).ranges == [0..<12])
        #expect(DecayMask(ranges: []).elementCount == 0)
    }

    @Test(arguments: [
        (WeightPenalty(l2: -0.1), "weight-penalty l2 must be finite and >= 0, got -0.1"),
        (WeightPenalty(l1: .infinity), "weight-penalty l1 must be finite and >= 0, got inf"),
    ])
    func invalidStrengthGivesOneLineMessage(penalty: WeightPenalty, expected: String) {
        #expect(hyperparameterMessage { try penalty.validate() } == expected)
    }
}
