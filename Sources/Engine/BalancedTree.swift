// The balanced binary tree that fixes the order of every sum over
// micro-batches (DESIGN.md 3): sum(lo, hi) = sum(lo, mid) + sum(mid, hi) with
// mid = lo + (hi − lo)/2, so the order depends on the number of leaves only.

public enum BalancedTree {
    /// Depth of the tree over `leaves` leaves: the length of its rightmost
    /// path, which is the longest (the right half is never the smaller one).
    /// A sum kept one partial per level needs `depth + 1` buffers.
    public static func depth(_ leaves: Int) -> Int {
        leaves <= 1 ? 0 : 1 + depth(leaves - leaves / 2)
    }
}

extension BalancedTree {
    /// Walks the tree over leaves 0..<count, keeping one partial sum per
    /// level: `leaf(i, level)` puts leaf i's value in the partial of `level`,
    /// and `combine(level)` adds the partial of `level + 1` into that of
    /// `level` once both halves are done. The whole sum ends in level 0.
    public static func reduce(_ count: Int, leaf: (_ index: Int, _ level: Int) -> Void, combine: (_ level: Int) -> Void) {
        func visit(_ lo: Int, _ hi: Int, _ level: Int) {
            if hi - lo == 1 {
                leaf(lo, level)
                return
            }
            let middle = lo + (hi - lo) / 2
            visit(lo, middle, level)
            visit(middle, hi, level + 1)
            combine(level)
        }
        if count > 0 { visit(0, count, 0) }
    }
}

extension BalancedTree {
    /// The same tree with each partial kept in its subtree's first leaf:
    /// `add(into: lo, from: mid)` adds leaf buffer `mid`'s partial into leaf
    /// buffer `lo`'s. The whole sum ends in leaf 0's buffer.
    public static func reduceInPlace(_ count: Int, add: (_ into: Int, _ from: Int) -> Void) {
        func visit(_ lo: Int, _ hi: Int) {
            if hi - lo <= 1 { return }
            let middle = lo + (hi - lo) / 2
            visit(lo, middle)
            visit(middle, hi)
            add(lo, middle)
        }
        visit(0, count)
    }
}
