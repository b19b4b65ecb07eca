// Whole-buffer elementwise passes over fixed ranges (thread-count independent).

import CKernels

public enum Elementwise {
    /// Elements per task of a whole-arena pass.
    public static let grain = 16_384

    /// target[i] += source[i] for every element; both buffers have the same count.
    public static func add(_ source: FloatBuffer, into target: FloatBuffer, pool: ThreadPool) {
        precondition(source.count == target.count, "add: \(source.count) elements into \(target.count)")
        pool.parallelRanges(source.count, grain: grain, Add(source: source.pointer, target: target.pointer))
    }

    /// A range of `add`.
    private struct Add: RangeJob {
        let source: UnsafePointer<Float>, target: UnsafeMutablePointer<Float>

        func run(_ range: Range<Int>) {
            dpt_add_matrices(target + range.lowerBound, 0, target + range.lowerBound, 0, source + range.lowerBound, 0, 1, range.count)
        }
    }

    /// Whether any of the `count` floats at `values` is NaN or ±Inf (in the widest lanes the CPU has).
    public static func containsNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
        dpt_any_nonfinite(values, count) != 0
    }
}

/// Sum of `count` floats in index order, in Double.
@inline(__always)
public func orderedSum(_ values: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    for i in 0..<count { total += Double(values[i]) }
    return total
}
