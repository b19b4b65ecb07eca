// DeterministicAllreduce: an elementwise sum over P = 2^L ranks whose result
// is bitwise the balanced binary tree over ranks,
//
//     ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7))    (P = 8),
//
// identical on every rank (DESIGN.md 3). Recursive halving reduce-scatter
// followed by recursive doubling allgather (Thakur, Rabenseifner & Gropp,
// "Optimization of Collective Communication Operations in MPICH", 2005), with
// fixed partners: at step s = 0, 1, ..., L-1 rank r pairs with r XOR 2^s.
//
// Why it is the tree: before step s, rank r holds, for every element of its
// range, the tree sum over the 2^s ranks that share r's bits above s - 1. Its
// partner holds the same range for the neighbouring block of 2^s ranks. The
// pair splits the range at a fixed point (the lower count/2 elements go to the
// rank whose bit s is 0) and each adds lowerBlock + higherBlock on its half,
// which is the next level of the tree. After L steps each element is owned,
// fully summed, by one rank; the allgather replays the steps backwards and
// copies the halves back, so every rank ends with every bit of the result.
//
// Messages are cut into pieces of at most `pieceBytes`; a received piece is
// added before the next one arrives, so the scratch space is one piece.

/// Runs the deterministic sum over a transport.
struct DeterministicAllreduce {
    /// Largest message, in bytes.
    let pieceBytes: Int

    init(pieceBytes: Int) {
        precondition(pieceBytes >= 16, "message pieces must hold at least 16 bytes, got \(pieceBytes)")
        self.pieceBytes = pieceBytes
    }

    /// Replaces `values` by the tree sum over the ranks of `transport`.
    /// `scratch` receives partner halves; it grows to at most one piece.
    func sum<Element: BinaryFloatingPoint>(
        _ values: UnsafeMutableBufferPointer<Element>,
        over transport: some PointToPointTransport,
        scratch: ScratchSpace
    ) throws(CollectiveError) {
        guard try Self.needsMessages(transport.size), let base = values.baseAddress else { return }
        let rank = transport.rank
        let steps = transport.size.trailingZeroBitCount
        let stride = MemoryLayout<Element>.stride
        let piece = pieceBytes / stride
        let other = scratch.reserve(bytes: min(piece, values.count) * stride)
            .bindMemory(to: Element.self, capacity: min(piece, values.count))

        // Reduce-scatter: keep one half of the range, summed with the partner's copy of it.
        var range = 0..<values.count
        for step in 0..<steps {
            let partner = rank ^ (1 << step)
            let isLower = rank & (1 << step) == 0
            let (keep, give) = Self.split(range, isLower: isLower)
            let pieces = max(Self.pieceCount(keep.count, piece), Self.pieceCount(give.count, piece))
            for index in 0..<pieces {
                let sent = Self.slice(give, piece: index, of: piece)
                let kept = Self.slice(keep, piece: index, of: piece)
                try transport.exchange(
                    send: UnsafeRawBufferPointer(start: base + sent.lowerBound, count: sent.count * stride),
                    receive: UnsafeMutableRawBufferPointer(start: other, count: kept.count * stride),
                    partner: partner
                )
                let mine = base + kept.lowerBound
                if isLower {
                    for j in 0..<kept.count { mine[j] = mine[j] + other[j] }
                } else {
                    for j in 0..<kept.count { mine[j] = other[j] + mine[j] }
                }
            }
            range = keep
        }

        try gather(values, over: transport)
    }

    /// The allgather half alone: every rank holds its `ownedRange` of
    /// `values`; afterwards every rank holds every rank's owned part.
    func gather<Element: BinaryFloatingPoint>(
        _ values: UnsafeMutableBufferPointer<Element>, over transport: some PointToPointTransport
    ) throws(CollectiveError) {
        guard try Self.needsMessages(transport.size), let base = values.baseAddress else { return }
        let rank = transport.rank
        let steps = transport.size.trailingZeroBitCount
        let stride = MemoryLayout<Element>.stride
        let piece = pieceBytes / stride
        // Undo the halving steps in reverse, sending the owned half and receiving the other.
        for step in (0..<steps).reversed() {
            let partner = rank ^ (1 << step)
            let isLower = rank & (1 << step) == 0
            let whole = Self.range(before: step, rank: rank, count: values.count)
            let (keep, give) = Self.split(whole, isLower: isLower)
            let pieces = max(Self.pieceCount(keep.count, piece), Self.pieceCount(give.count, piece))
            for index in 0..<pieces {
                let sent = Self.slice(keep, piece: index, of: piece)
                let received = Self.slice(give, piece: index, of: piece)
                try transport.exchange(
                    send: UnsafeRawBufferPointer(start: base + sent.lowerBound, count: sent.count * stride),
                    receive: UnsafeMutableRawBufferPointer(
                        start: base + received.lowerBound, count: received.count * stride),
                    partner: partner
                )
            }
        }
    }

    /// The part of a `count`-element buffer that `rank` of `size` (a power
    /// of two) holds fully summed after the reduce-scatter.
    static func ownedRange(rank: Int, size: Int, count: Int) -> Range<Int> {
        range(before: size.trailingZeroBitCount, rank: rank, count: count)
    }

    /// Throws unless `size` is a power of two; whether there is another rank to talk to.
    private static func needsMessages(_ size: Int) throws(CollectiveError) -> Bool {
        guard size > 0, size & (size - 1) == 0 else { throw .worldSizeNotPowerOfTwo(size: size) }
        return size > 1
    }

    /// The lower `count / 2` elements go to the rank whose step bit is 0.
    static func split(_ range: Range<Int>, isLower: Bool) -> (keep: Range<Int>, give: Range<Int>) {
        let middle = range.lowerBound + range.count / 2
        let lower = range.lowerBound..<middle
        let upper = middle..<range.upperBound
        return isLower ? (lower, upper) : (upper, lower)
    }

    /// The range `rank` holds before reduce-scatter step `step`.
    static func range(before step: Int, rank: Int, count: Int) -> Range<Int> {
        var range = 0..<count
        for earlier in 0..<step {
            range = split(range, isLower: rank & (1 << earlier) == 0).keep
        }
        return range
    }

    static func pieceCount(_ count: Int, _ piece: Int) -> Int {
        (count + piece - 1) / piece
    }

    /// Piece `index` of `range`, possibly empty when the other direction has more pieces.
    static func slice(_ range: Range<Int>, piece index: Int, of piece: Int) -> Range<Int> {
        let start = min(range.lowerBound + index * piece, range.upperBound)
        return start..<min(start + piece, range.upperBound)
    }
}

/// Receive space owned by one communicator, reused across calls so a training
/// step allocates nothing after the first.
final class ScratchSpace {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0

    init() {}

    /// At least `bytes` bytes of 16-byte-aligned memory, valid until the next call.
    func reserve(bytes: Int) -> UnsafeMutableRawPointer {
        if let storage, capacity >= bytes { return storage }
        storage?.deallocate()
        capacity = max(bytes, 64)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        storage = fresh
        return fresh
    }

    deinit { storage?.deallocate() }
}
