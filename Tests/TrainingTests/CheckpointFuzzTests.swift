// Random damage to a valid checkpoint: flipped bits, overwritten bytes,
// truncations, insertions and forged header lengths. Every outcome must be a
// typed CheckpointError or a valid load — never a crash, a hang or a huge
// allocation. Seeded, so a failure reproduces.

import Testing
@testable import Training

/// SplitMix64: a tiny seeded generator for reproducible mutations.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct CheckpointFuzzTests {
    @Test func randomDamageEndsInATypedErrorOrAValidLoad() {
        let original = sampleCheckpoint().encoded()
        let headerEnd = 8 + headerLength(original)
        var random = SplitMix64(state: 20_240_605)
        var outcomes: [String: Int] = [:]
        for _ in 0..<2000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                // Half the mutations hit the header, where the parser lives.
                let position = Bool.random(using: &random) && !bytes.isEmpty
                    ? Int.random(in: 0..<min(headerEnd, bytes.count), using: &random)
                    : Int.random(in: 0...max(bytes.count - 1, 0), using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0 where !bytes.isEmpty:
                    bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                case 1 where !bytes.isEmpty:
                    bytes[position] = Array(#"{}[]",:0123456789-. \e"#.utf8).randomElement(using: &random) ?? 0
                case 2:
                    bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
                case 3:
                    bytes.insert(UInt8.random(in: 0...255, using: &random), at: min(position, bytes.count))
                case 4 where bytes.count >= 8:
                    let length = UInt64.random(in: 0...UInt64(bytes.count + 64), using: &random)
                    for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(index))) }
                default:
                    if bytes.count >= 8 { bytes[Int.random(in: 0..<8, using: &random)] = UInt8.random(in: 0...255, using: &random) }
                }
            }
            if let error = loadError(bytes) {
                outcomes[Mirror(reflecting: error).children.first?.label ?? "\(error)", default: 0] += 1
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
            } else {
                outcomes["valid", default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 2000)
        // The damage must reach the deep checks, not only the first ones.
        #expect(outcomes.keys.count >= 6, "\(outcomes)")
        print("fuzz outcomes:", outcomes.sorted { $0.key < $1.key })
    }
}
