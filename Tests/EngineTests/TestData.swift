// Deterministic test data that does not come from the code under test:
// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA'14), so a bug in CounterRNG cannot hide a GEMM bug.

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

    /// A Float uniform in [-1, 1).
    mutating func symmetric() -> Float { Float(next() >> 40) * 0x1p-23 - 1 }
}

extension FloatBuffer {
    /// A buffer of `count` values uniform in [-1, 1) from `seed`.
    static func random(count: Int, seed: UInt64) -> FloatBuffer {
        var generator = SplitMix64(seed: seed)
        let buffer = FloatBuffer(count: count)
        for i in 0..<count { buffer.pointer[i] = generator.symmetric() }
        return buffer
    }

    /// The exact bit patterns, for bitwise comparisons.
    var bits: [UInt32] { array.map(\.bitPattern) }
}
