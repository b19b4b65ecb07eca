// DecayMask: the parts of the parameter arena a weight penalty applies to.
//
// The arena holds every parameter in one buffer (DESIGN.md decision 1); the trainer
// passes the ranges of the weight tensors, so biases and normalisation parameters
// are left out by default, as is usual with PyTorch's parameter groups
// (no_decay = bias, norm weights). Optimizers never import Layers, so the mask is
// only ranges of arena indices. It is derived from the model at every launch, so it
// is not Codable: nothing decodes one from a file past the checks of `init`.

/// Sorted, disjoint ranges of arena indices.
public struct DecayMask: Sendable, Equatable {
    /// The ranges, ascending and disjoint, none empty.
    public let ranges: [Range<Int>]

    /// A mask of `ranges`, which must be ascending and disjoint; empty ranges are dropped.
    public init(ranges: [Range<Int>]) {
        let kept = ranges.filter { !$0.isEmpty }
        precondition(kept.first.map { $0.lowerBound >= 0 } ?? true, "decay mask ranges must be >= 0: \(ranges)")
        precondition(
            zip(kept, kept.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound },
            "decay mask ranges must be ascending and disjoint: \(ranges)")
        self.ranges = kept
    }

    /// Every element of an arena of `count` floats.
    public static func all(count: Int) -> DecayMask {
        DecayMask(ranges: [0..<count])
    }

    /// Number of elements the mask covers.
    public var elementCount: Int {
        ranges.reduce(0) { $0 + $1.count }
    }
}
