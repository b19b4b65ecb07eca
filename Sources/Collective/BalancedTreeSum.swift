// The reference for the deterministic reduction: the elementwise balanced
// binary tree sum over a list of buffers, computed serially level by level,
//
//     level 0: x0, x1, x2, x3, ...
//     level 1: x0 + x1, x2 + x3, ...
//     level 2: (x0 + x1) + (x2 + x3), ...
//
// With a power-of-two number of buffers this is exactly what
// DeterministicAllreduce gives on every rank. (With another number, an odd
// last node is carried up a level unchanged.) It shares no code with the
// distributed algorithm, so tests can hold one against the other.

/// The elementwise balanced binary tree sum of `buffers`, each of the same length.
public func balancedTreeSum<Element: BinaryFloatingPoint>(_ buffers: [[Element]]) -> [Element] {
    guard let first = buffers.first else { return [] }
    precondition(buffers.allSatisfy { $0.count == first.count },
                 "balancedTreeSum needs buffers of one length")
    var level = buffers
    while level.count > 1 {
        var next: [[Element]] = []
        next.reserveCapacity((level.count + 1) / 2)
        for pair in stride(from: 0, to: level.count, by: 2) {
            if pair + 1 < level.count {
                let lower = level[pair], higher = level[pair + 1]
                next.append((0..<lower.count).map { lower[$0] + higher[$0] })
            } else {
                next.append(level[pair])
            }
        }
        level = next
    }
    return level[0]
}
