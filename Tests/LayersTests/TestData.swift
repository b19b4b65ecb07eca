// Deterministic test data independent of the code under test: SplitMix64
// (Steele, Lea, Flood, OOPSLA'14), not CounterRNG.

import Engine

struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A Float uniform in [low, high).
    mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) * 0x1p-24
    }

    /// An integer in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

extension FloatBuffer {
    /// A buffer of `count` values uniform in [low, high) from `seed`.
    static func random(count: Int, seed: UInt64, in range: (Float, Float) = (-1, 1)) -> FloatBuffer {
        var generator = SplitMix64(seed: seed)
        let buffer = FloatBuffer(count: count)
        for i in 0..<count { buffer.pointer[i] = generator.uniform(range.0, range.1) }
        return buffer
    }

    /// The exact bit patterns, for bitwise comparisons.
    var bits: [UInt32] { array.map(\.bitPattern) }
}
