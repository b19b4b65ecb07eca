// Rank-seeded test buffers whose sums round differently in different orders:
// large values that cancel (1e8 and -1e8 in Float, 1e17 and -1e17 in Double)
// mixed with small ones that vanish or survive depending on when they are
// added, scaled per element so no two elements repeat a pattern.

enum RankSeededData {
    static let floatPattern: [Float] = [1e8, 1, -1e8, 3.3, 0.1, -7.7e7, 2.5e-3, 1e7, -1, 6.25e6, -3.3]
    static let doublePattern: [Double] = [1e17, 1, -1e17, 3.3, 0.1, -7.7e16, 2.5e-3, 1e16, -1, 6.25e15, -3.3]

    static func floats(rank: Int, count: Int) -> [Float] {
        (0..<count).map { index in
            floatPattern[(rank * 3 + index) % floatPattern.count] * Float(scale(rank: rank, index: index))
        }
    }

    static func doubles(rank: Int, count: Int) -> [Double] {
        (0..<count).map { index in
            doublePattern[(rank * 3 + index) % doublePattern.count] * scale(rank: rank, index: index)
        }
    }

    /// A factor in [0.5, 1.5) that depends on rank and index.
    private static func scale(rank: Int, index: Int) -> Double {
        let mixed = (UInt64(index) &* 2_654_435_761 &+ UInt64(rank) &* 40_503) % 1000
        return 0.5 + Double(mixed) / 1000
    }

    /// Bit patterns, so that tests compare bits rather than values (0.0 vs -0.0, NaN).
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
    static func bits(_ values: [Double]) -> [UInt64] { values.map(\.bitPattern) }
}
