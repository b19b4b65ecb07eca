// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC'11).
//
// A draw is a pure function of (seed, purpose, stream, index): no generator
// state, so the value a sample, a weight or a dropout mask gets never depends
// on who drew before it, on the thread or on the rank (DESIGN.md 3).
// Key = the 64-bit seed; counter = (purpose, stream, index low, index high).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a random draw is for; each purpose has its own counter space.
public enum RandomPurpose: UInt32, Sendable {
    case initialization = 1
    case shuffle = 2
    case dropout = 3
    case syntheticData = 4
    case validationSplit = 5
}

/// A stateless generator: every value is addressed by its counter.
public struct CounterRNG: Sendable, Equatable {
    /// The run's seed (the Philox key).
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// Four independent 32-bit words for (purpose, stream, index).
    @inlinable @inline(__always)
    public func bits(_ purpose: RandomPurpose, stream: UInt32, index: UInt64) -> SIMD4<UInt32> {
        Philox.block(
            counter: SIMD4(purpose.rawValue, stream, UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32)),
            key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inlinable @inline(__always)
    public func uniform(_ purpose: RandomPurpose, stream: UInt32, index: UInt64) -> Float {
        Float(bits(purpose, stream: stream, index: index).x >> 8) * 0x1p-24
    }

    /// A standard normal Float (Box–Muller on two 32-bit words, computed in Double).
    @inlinable @inline(__always)
    public func normal(_ purpose: RandomPurpose, stream: UInt32, index: UInt64) -> Float {
        let words = bits(purpose, stream: stream, index: index)
        let u1 = (Double(words.x) + 1) * 0x1p-32  // (0, 1]
        let u2 = Double(words.y) * 0x1p-32
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// A uniform integer in 0..<bound (Lemire's multiply-shift on 64 bits).
    @inlinable @inline(__always)
    public func integer(below bound: Int, _ purpose: RandomPurpose, stream: UInt32, index: UInt64) -> Int {
        precondition(bound > 0, "integer(below:) needs a positive bound")
        let words = bits(purpose, stream: stream, index: index)
        let x = UInt64(words.x) | UInt64(words.y) << 32
        return Int(x.multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Fills `order` with a permutation of 0..<order.count that is a pure
    /// function of (seed, purpose, stream): Fisher–Yates with draw i addressed by i.
    public func permutation(into order: UnsafeMutableBufferPointer<Int32>, _ purpose: RandomPurpose, stream: UInt32) {
        for i in 0..<order.count { order[i] = Int32(i) }
        var i = order.count - 1
        while i > 0 {
            let j = integer(below: i + 1, purpose, stream: stream, index: UInt64(i))
            order.swapAt(i, j)
            i -= 1
        }
    }
}

/// The Philox4x32 block function with 10 rounds.
public enum Philox {
    /// One round per pass on four scalar words: the compiler keeps them in
    /// registers (the same arithmetic on a SIMD4 went through memory and
    /// cost about four times as much per draw).
    @inlinable @inline(__always)
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var (c0, c1, c2, c3) = (counter.x, counter.y, counter.z, counter.w)
        var (k0, k1) = (key.x, key.y)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            (c0, c1, c2, c3) = (
                UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0,
                UInt32(truncatingIfNeeded: p1),
                UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1,
                UInt32(truncatingIfNeeded: p0))
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return SIMD4(c0, c1, c2, c3)
    }
}
