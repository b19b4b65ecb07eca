// WeightPenalty: coupled L2 weight decay and L1, added to the gradient before the
// optimizer step on the masked part of the arena.
//
//   L2 (PyTorch's weight_decay argument of SGD, Adam, RMSprop, Adagrad,
//       https://pytorch.org/docs/stable/generated/torch.optim.SGD.html):  g ← g + λ₂·w
//   L1 (the gradient of λ₁·Σ|w|, with sign(0) = 0 as torch.sign):       g ← g + λ₁·sign(w)
// With both, g ← (g + λ₂·w) + λ₁·sign(w). Decoupled decay (AdamW) is the optimizer's.
// Each element is computed alone, so fixed ranges on the pool give the same bits for
// any thread count.

import Engine

/// L2 and L1 penalty strengths; 0 turns a term off.
public struct WeightPenalty: Codable, Sendable, Equatable {
    /// λ₂ of the coupled L2 term (`--weight-decay` for optimizers other than AdamW).
    public var l2: Float
    /// λ₁ of the L1 term.
    public var l1: Float

    /// A penalty with the given strengths.
    public init(l2: Float = 0, l1: Float = 0) {
        self.l2 = l2
        self.l1 = l1
    }

    /// Whether any term is on.
    public var isActive: Bool { l2 != 0 || l1 != 0 }

    /// Throws when a strength is negative or not finite.
    public func validate() throws(HyperparameterError) {
        try HyperparameterError.requireNonNegative("weight-penalty", "l2", l2)
        try HyperparameterError.requireNonNegative("weight-penalty", "l1", l1)
    }

    /// Adds the penalty's gradient to `gradients` (N) at the elements `mask` covers,
    /// using `parameters` (N); other elements are untouched.
    /// With `within`, only the elements in it: a sharded update's owned part,
    /// so no other element of `parameters` is read.
    public func apply(
        parameters: FloatBuffer, gradients: FloatBuffer, mask: DecayMask, within: Range<Int>? = nil, pool: ThreadPool
    ) {
        precondition(
            parameters.count == gradients.count,
            "weight penalty: \(parameters.count) parameters, \(gradients.count) gradients")
        guard isActive else { return }
        // Legend: w parameters (N), g gradients (N), l2 = λ₂, l1 = λ₁.
        let l2 = self.l2, l1 = self.l1
        for maskRange in mask.ranges {
            precondition(
                maskRange.upperBound <= parameters.count,
                "decay mask range \(maskRange) outside an arena of \(parameters.count)")
            let range = within.map { maskRange.clamped(to: $0) } ?? maskRange
            guard !range.isEmpty else { continue }
            let w = parameters.pointer + range.lowerBound
            let g = gradients.pointer + range.lowerBound
            pool.parallelRanges(range.count, Penalty(w: w, g: g, l1: l1, l2: l2))
        }
    }
}

/// −1, 0 or 1 (0 for ±0 and NaN), in a form loops vectorise.
@inline(__always)
private func sign(_ x: Float) -> Float {
    x > 0 ? 1 : (x < 0 ? -1 : 0)
}

/// A range of `WeightPenalty.apply`: g += l2·w, g += l1·sign(w), or both in that order.
private struct Penalty: RangeJob {
    let w: UnsafePointer<Float>, g: UnsafeMutablePointer<Float>, l1: Float, l2: Float

    func run(_ range: Range<Int>) {
        switch (l2 != 0, l1 != 0) {
        case (true, false):
            for i in range { g[i] += l2 * w[i] }
        case (false, true):
            for i in range { g[i] += l1 * sign(w[i]) }
        default:
            for i in range { g[i] = (g[i] + l2 * w[i]) + l1 * sign(w[i]) }
        }
    }
}
