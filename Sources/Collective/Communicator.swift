// Communicator: what the training layer asks of the ranks of a job.
//
// Sums of Float and Double buffers are the gradient and loss reductions; with
// the deterministic algorithm (DESIGN.md 3) they give, on every rank, bitwise
// the balanced binary tree ((x0 + x1) + (x2 + x3)) + ... over the ranks'
// contributions, whatever the transport. Maximum and minimum of Int64 buffers
// are exact in any order; they carry the flags ranks agree on before they
// branch (DESIGN.md 4). A communicator is used from one thread.

/// The ranks of one job, seen from one of them.
///
/// Every rank must make the same collective calls in the same order with
/// buffers of the same length; a rank that skips one leaves the others waiting.
public protocol Communicator: AnyObject {
    /// This rank's index, `0..<size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }

    /// Returns once every rank has entered the barrier.
    func barrier() throws(CollectiveError)

    /// Copies `root`'s bytes into the buffer of every other rank.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(CollectiveError)

    /// Replaces `values` on every rank by the elementwise sum over ranks.
    ///
    /// With the deterministic algorithm the result is bitwise the balanced
    /// binary tree over ranks and identical on every rank; it needs a
    /// power-of-two number of ranks.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError)

    /// Replaces `values` on every rank by the elementwise sum over ranks (small
    /// buffers such as loss sums); deterministic like the Float sum.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError)

    /// Replaces `values` on every rank by the elementwise maximum over ranks.
    func allreduceMax(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError)

    /// Replaces `values` on every rank by the elementwise minimum over ranks.
    func allreduceMin(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError)

    /// Ends every rank of the job with exit status `code`.
    func abort(code: Int32) -> Never

    /// Starts summing `values` over ranks like `allreduceSum`, to complete
    /// during later `progressSums()` calls or at `finishSums()`; `values` must
    /// stay untouched until then. `bucket` names the buffer (the same on every
    /// rank, stable across steps). Communicators without nonblocking support
    /// sum at once.
    func startSum(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError)

    /// Starts the first half of `startSum`, the reduce-scatter: once
    /// finished, `values` holds the sum over ranks on `ownedRange(count:)`
    /// (and partial sums elsewhere). Same rules as `startSum`.
    func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError)

    /// Starts the second half, the allgather: every rank has written its
    /// `ownedRange(count:)` of `values` (any bucket-sized buffer, such as the
    /// parameters after a sharded update); once finished every rank holds
    /// every rank's part. `bucket` as for the reduce-scatter of that length.
    func startAllgather(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError)

    /// The part of a `count`-float buffer this rank holds fully summed after a
    /// reduce-scatter: the whole buffer when the communicator does not split.
    func ownedRange(count: Int) -> Range<Int>

    /// Advances the started sums without waiting.
    func progressSums() throws(CollectiveError)

    /// Waits for every started sum.
    func finishSums() throws(CollectiveError)

    /// `count` zeroed floats that the other ranks of this node can reach, so
    /// sums and gathers of buffers inside them go through memory instead of
    /// messages (same bits); nil where the ranks do not share memory. Only a
    /// `summed` buffer can be summed this way (it takes `size − 1` more
    /// buffers of room, each rank's inbox); any can be gathered. Collective:
    /// every rank calls it with the same arguments; the memory lives until
    /// the communicator ends.
    func nodeSharedFloats(count: Int, summed: Bool) throws(CollectiveError) -> UnsafeMutablePointer<Float>?
    /// Work this rank does in small pieces while it waits for other ranks
    /// (until set to nil); communicators that never spin ignore it.
    func setIdleWork(_ work: (any IdleWork)?)

    /// Whether the caller is to choose, by the step times it sees, how
    /// node-shared sums move values (`setStreaming`).
    var choosesTransport: Bool { get }

    /// From the next sum on, node-shared sums stream values through memory
    /// (true) or read them through the caches (false); the same bits. Every
    /// rank calls it with the same value at the same point, between steps.
    func setStreaming(_ streaming: Bool)
}

/// Work a communicator may run while this rank waits for others: pieces of a
/// microsecond or so, so the rank is never late by more than a piece.
public protocol IdleWork: AnyObject {
    /// Runs one piece; false when there is nothing left to do.
    func runPiece() -> Bool
}

extension Communicator {
    public func startSum(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {
        try allreduceSum(values)
    }

    public func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {
        try startSum(values, bucket: bucket)
    }

    public func startAllgather(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {}

    public func ownedRange(count: Int) -> Range<Int> { 0..<count }

    public func progressSums() throws(CollectiveError) {}

    public func finishSums() throws(CollectiveError) {}

    public func nodeSharedFloats(count: Int, summed: Bool) throws(CollectiveError) -> UnsafeMutablePointer<Float>? {
        nil
    }
    public func setIdleWork(_ work: (any IdleWork)?) {}
    public var choosesTransport: Bool { false }
    public func setStreaming(_ streaming: Bool) {}

    /// Whether the deterministic sum works at this world size (a power of two).
    public var supportsDeterministicReduction: Bool {
        size > 0 && size & (size - 1) == 0
    }

    /// The largest of every rank's `value`; ranks agree on a flag with it.
    public func allreduceMax(_ value: Int64) throws(CollectiveError) -> Int64 {
        var result = value
        try withUnsafeMutablePointer(to: &result) { (pointer) throws(CollectiveError) in
            try allreduceMax(UnsafeMutableBufferPointer(start: pointer, count: 1))
        }
        return result
    }

    /// The smallest of every rank's `value`.
    public func allreduceMin(_ value: Int64) throws(CollectiveError) -> Int64 {
        var result = value
        try withUnsafeMutablePointer(to: &result) { (pointer) throws(CollectiveError) in
            try allreduceMin(UnsafeMutableBufferPointer(start: pointer, count: 1))
        }
        return result
    }

    /// True on every rank if `flag` is true on any rank.
    public func anyRank(_ flag: Bool) throws(CollectiveError) -> Bool {
        try allreduceMax(flag ? 1 : 0) != 0
    }

    /// The sum over ranks of every rank's `value`, computed like `allreduceSum`.
    public func allreduceSum(_ value: Double) throws(CollectiveError) -> Double {
        var result = value
        try withUnsafeMutablePointer(to: &result) { (pointer) throws(CollectiveError) in
            try allreduceSum(UnsafeMutableBufferPointer(start: pointer, count: 1))
        }
        return result
    }
}
