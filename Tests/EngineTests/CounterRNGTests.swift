// CounterRNG: Philox4x32-10 against the Random123 known-answer vectors, the
// distributions built on it, and permutations as pure functions of their address.

import Engine
import Testing

@Suite("CounterRNG")
struct CounterRNGTests {
    // Known-answer vectors from Random123's kat_vectors (philox4x32 10 rounds).
    @Test("Philox4x32-10 reproduces the Random123 known-answer vectors", arguments: [
        (SIMD4<UInt32>(0, 0, 0, 0), SIMD2<UInt32>(0, 0),
         SIMD4<UInt32>(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
        (SIMD4<UInt32>(repeating: 0xffff_ffff), SIMD2<UInt32>(repeating: 0xffff_ffff),
         SIMD4<UInt32>(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
        (SIMD4<UInt32>(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2<UInt32>(0xa409_3822, 0x299f_31d0),
         SIMD4<UInt32>(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
    ])
    func philoxMatchesKnownAnswers(counter: SIMD4<UInt32>, key: SIMD2<UInt32>, expected: SIMD4<UInt32>) {
        #expect(Philox.block(counter: counter, key: key) == expected)
    }

    @Test("bits address Philox with counter (purpose, stream, index low, index high) and key = seed")
    func bitsAreAddressedByPurposeStreamAndIndex() {
        let rng = CounterRNG(seed: 0x0123_4567_89ab_cdef)
        let index: UInt64 = 0x0000_0005_0000_0009
        let expected = Philox.block(counter: SIMD4(RandomPurpose.dropout.rawValue, 17, 9, 5),
                                    key: SIMD2(0x89ab_cdef, 0x0123_4567))
        #expect(rng.bits(.dropout, stream: 17, index: index) == expected)
    }

    @Test("uniform draws lie in [0, 1) with mean 1/2")
    func uniformLiesInUnitInterval() {
        let rng = CounterRNG(seed: 7)
        var sum = 0.0
        var inside = true
        let count = 100_000
        for i in 0..<count {
            let u = rng.uniform(.syntheticData, stream: 0, index: UInt64(i))
            inside = inside && u >= 0 && u < 1
            sum += Double(u)
        }
        #expect(inside)
        #expect(abs(sum / Double(count) - 0.5) < 0.005)
    }

    @Test("normal draws have mean 0 and variance 1 over 100k draws")
    func normalHasUnitMoments() {
        let rng = CounterRNG(seed: 11)
        let count = 100_000
        var sum = 0.0
        var squares = 0.0
        var finite = true
        for i in 0..<count {
            let x = Double(rng.normal(.initialization, stream: 3, index: UInt64(i)))
            finite = finite && x.isFinite
            sum += x
            squares += x * x
        }
        let mean = sum / Double(count)
        let variance = squares / Double(count) - mean * mean
        // Standard errors: 0.0032 for the mean, 0.0045 for the variance.
        #expect(finite)
        #expect(abs(mean) < 0.015)
        #expect(abs(variance - 1) < 0.025)
    }

    @Test("integer(below:) stays below its bound and reaches every value", arguments: [1, 2, 7, 1000])
    func integerStaysBelowBound(bound: Int) {
        let rng = CounterRNG(seed: 5)
        var hits = [Int](repeating: 0, count: bound)
        for i in 0..<(20 * bound) {
            let value = rng.integer(below: bound, .shuffle, stream: 1, index: UInt64(i))
            #expect(value >= 0 && value < bound)
            if value >= 0 && value < bound { hits[value] += 1 }
        }
        #expect(hits.allSatisfy { $0 > 0 })
    }

    static func permutation(count: Int, seed: UInt64, stream: UInt32, purpose: RandomPurpose = .shuffle) -> [Int32] {
        var order = [Int32](repeating: -1, count: count)
        order.withUnsafeMutableBufferPointer { CounterRNG(seed: seed).permutation(into: $0, purpose, stream: stream) }
        return order
    }

    @Test("permutation holds every index exactly once", arguments: [0, 1, 2, 10, 1000])
    func permutationIsAPermutation(count: Int) {
        let order = Self.permutation(count: count, seed: 42, stream: 3)
        #expect(order.sorted() == (0..<Int32(count)).map { $0 })
    }

    @Test("permutation is a pure function of seed, purpose and stream")
    func permutationIsPureFunctionOfItsAddress() {
        let order = Self.permutation(count: 500, seed: 42, stream: 3)
        #expect(Self.permutation(count: 500, seed: 42, stream: 3) == order)
        #expect(Self.permutation(count: 500, seed: 42, stream: 4) != order)
        #expect(Self.permutation(count: 500, seed: 43, stream: 3) != order)
        #expect(Self.permutation(count: 500, seed: 42, stream: 3, purpose: .validationSplit) != order)
        #expect(order != (0..<500).map { Int32($0) })
    }
}
