// GradientClipping: the global L2 norm of the gradient arena, clipping by that norm
// (torch.nn.utils.clip_grad_norm_) and by value (torch.nn.utils.clip_grad_value_,
// https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html).
//
//   norm     ‖g‖ = √(Σ gᵢ²), summed in Double over a fixed partition (below)
//   by norm  c = maxNorm / (‖g‖ + 1e-6); when c < 1, g ← g·c   (PyTorch clamps c at 1)
//   by value gᵢ ← min(max(gᵢ, −limit), limit)
//
// The partition (DESIGN.md decision 3) depends on the element count only: chunks of
// `normChunkSize` elements, the last one shorter; within a chunk element i adds
// Double(gᵢ)² (exact in Double) to accumulator i mod 8, in index order, and the
// eight are combined as ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)); the chunk sums are
// combined by a pairwise tree that splits n sums into the first ⌊n/2⌋ and the rest.
// Threads only decide who computes which chunk, so the norm is bitwise the same for
// any thread count.
//
// A non-finite norm leaves the gradients as they are (PyTorch would scale them by
// NaN or 0): the caller sees it in the returned norm and handles the step.

import Engine

/// How the gradient is clipped before the optimizer step; stored in run configs.
public enum GradientClipping: Codable, Sendable, Equatable {
    /// Scale the whole gradient down so its global L2 norm is at most `maxNorm`.
    case byNorm(maxNorm: Double)
    /// Clamp every element into [−limit, limit].
    case byValue(limit: Float)

    /// Elements per chunk of the fixed partition of the norm.
    public static let normChunkSize = 4096
    /// Added to the norm before dividing, as PyTorch does.
    public static let normEpsilon = 1e-6

    /// Clips `gradients` (N) and returns their global norm before clipping, to log every step.
    @discardableResult
    public func apply(to gradients: FloatBuffer, pool: ThreadPool) -> Double {
        switch self {
        case .byNorm(let maxNorm):
            return Self.clipByNorm(gradients: gradients, maxNorm: maxNorm, pool: pool)
        case .byValue(let limit):
            let norm = Self.globalNorm(gradients: gradients, pool: pool)
            Self.clipByValue(gradients: gradients, limit: limit, pool: pool)
            return norm
        }
    }

    /// Throws when the norm or limit is not finite and > 0.
    public func validate() throws(HyperparameterError) {
        switch self {
        case .byNorm(let maxNorm):
            try HyperparameterError.requirePositive("clipping", "maxNorm", maxNorm)
        case .byValue(let limit):
            try HyperparameterError.requirePositive("clipping", "limit", limit)
        }
    }

    /// The L2 norm of all of `gradients` (N), over the fixed partition.
    public static func globalNorm(gradients: FloatBuffer, pool: ThreadPool) -> Double {
        norm(of: gradients, range: 0..<gradients.count, pool: pool)
    }

    /// The L2 norm of `buffer[range]` over the fixed partition of `range.count` elements,
    /// e.g. one layer's weights or gradients for the gradient-health log.
    public static func norm(of buffer: FloatBuffer, range: Range<Int>, pool: ThreadPool) -> Double {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= buffer.count,
            "norm of \(range) in a buffer of \(buffer.count)")
        let count = range.count
        if count == 0 { return 0 }
        let x = UnsafePointer(buffer.pointer + range.lowerBound)
        let chunks = (count + normChunkSize - 1) / normChunkSize
        // The chunk sums take 8 bytes per 4096 floats, a few KB for a large model:
        // on the stack, so no step allocates.
        let sum = withUnsafeTemporaryAllocation(of: Double.self, capacity: chunks) { chunkSums in
            pool.parallelRanges(chunks, grain: 16, ChunkSquares(x: x, chunkSums: chunkSums, count: count))
            return pairwiseSum(chunkSums, 0..<chunks)
        }
        return sum.squareRoot()
    }

    /// Scales `gradients` (N) so their norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public static func clipByNorm(gradients: FloatBuffer, maxNorm: Double, pool: ThreadPool) -> Double {
        precondition(maxNorm > 0 && maxNorm.isFinite, "clip norm must be finite and > 0, got \(maxNorm)")
        let norm = globalNorm(gradients: gradients, pool: pool)
        let coefficient = maxNorm / (norm + normEpsilon)
        guard norm.isFinite, coefficient < 1 else { return norm }
        let scale = Float(coefficient)
        let g = gradients.pointer
        pool.parallelRanges(gradients.count, Scale(g: g, scale: scale))
        return norm
    }

    /// Clamps every element of `gradients` (N) into [−limit, limit]; NaN stays NaN.
    public static func clipByValue(gradients: FloatBuffer, limit: Float, pool: ThreadPool) {
        precondition(limit >= 0 && limit.isFinite, "clip value must be finite and >= 0, got \(limit)")
        let g = gradients.pointer
        let low = -limit
        pool.parallelRanges(gradients.count, Clamp(g: g, limit: limit, low: low))
    }

    /// Σ x[i]² for one chunk: eight accumulators, element i to accumulator i mod 8.
    fileprivate static func chunkSumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
        var i = 0
        while i + 8 <= count {
            let v0 = Double(x[i]), v1 = Double(x[i + 1]), v2 = Double(x[i + 2]), v3 = Double(x[i + 3])
            let v4 = Double(x[i + 4]), v5 = Double(x[i + 5]), v6 = Double(x[i + 6]), v7 = Double(x[i + 7])
            a0 += v0 * v0
            a1 += v1 * v1
            a2 += v2 * v2
            a3 += v3 * v3
            a4 += v4 * v4
            a5 += v5 * v5
            a6 += v6 * v6
            a7 += v7 * v7
            i += 8
        }
        // At most seven left; element i still goes to accumulator i mod 8.
        func square(_ index: Int) -> Double {
            let v = Double(x[index])
            return v * v
        }
        let left = count - i
        if left > 0 { a0 += square(i) }
        if left > 1 { a1 += square(i + 1) }
        if left > 2 { a2 += square(i + 2) }
        if left > 3 { a3 += square(i + 3) }
        if left > 4 { a4 += square(i + 4) }
        if left > 5 { a5 += square(i + 5) }
        if left > 6 { a6 += square(i + 6) }
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    }

    /// Σ values[range] (range not empty), as the sum of its first ⌊n/2⌋ plus the sum of the rest.
    private static func pairwiseSum(_ values: UnsafeMutableBufferPointer<Double>, _ range: Range<Int>) -> Double {
        if range.count == 1 { return values[range.lowerBound] }
        let middle = range.lowerBound + range.count / 2
        return pairwiseSum(values, range.lowerBound..<middle) + pairwiseSum(values, middle..<range.upperBound)
    }
}

/// Chunks of `GradientClipping.norm`.
private struct ChunkSquares: RangeJob {
    let x: UnsafePointer<Float>, chunkSums: UnsafeMutableBufferPointer<Double>, count: Int

    func run(_ chunkRange: Range<Int>) {
        for chunk in chunkRange {
            let start = chunk * GradientClipping.normChunkSize
            chunkSums[chunk] = GradientClipping.chunkSumOfSquares(
                x + start, count: min(GradientClipping.normChunkSize, count - start))
        }
    }
}

/// A range of `GradientClipping.clipByNorm`.
private struct Scale: RangeJob {
    let g: UnsafeMutablePointer<Float>, scale: Float

    func run(_ range: Range<Int>) {
        for i in range { g[i] *= scale }
    }
}

/// A range of `GradientClipping.clipByValue`.
private struct Clamp: RangeJob {
    let g: UnsafeMutablePointer<Float>, limit: Float, low: Float

    func run(_ range: Range<Int>) {
        for i in range {
            let value = g[i]
            g[i] = value > limit ? limit : (value < low ? low : value)
        }
    }
}
