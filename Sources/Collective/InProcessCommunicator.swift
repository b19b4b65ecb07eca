// InProcessCommunicator: one rank of an InProcessCommunicatorGroup, a thread
// that shares the process with the other ranks. Sums run the same
// DeterministicAllreduce as MPI, so they give the same bits; the other
// collectives are plain message patterns over the group's queues:
// broadcast sends from the root to everyone, maximum and minimum send every
// buffer to every rank (exact in any order), and the barrier is a
// dissemination barrier (Hensgen, Finkel & Manber, 1988).

import Dispatch

/// One rank of an `InProcessCommunicatorGroup`; use it only on the thread the group gave it to.
public final class InProcessCommunicator: Communicator {
    /// This rank's index, `0..<size`.
    public let rank: Int
    /// The number of ranks in the group.
    public var size: Int { fabric.size }
    /// The largest message the sums send at once, in bytes.
    public let messagePieceBytes: Int

    private let fabric: InProcessFabric
    private let scratch = ScratchSpace()

    init(fabric: InProcessFabric, rank: Int, messagePieceBytes: Int) {
        self.fabric = fabric
        self.rank = rank
        self.messagePieceBytes = messagePieceBytes
    }

    /// Returns once every rank has entered the barrier.
    public func barrier() throws(CollectiveError) {
        var distance = 1
        while distance < size {
            fabric.send(UnsafeRawBufferPointer(start: nil, count: 0), from: rank, to: (rank + distance) % size)
            try fabric.receive(
                into: UnsafeMutableRawBufferPointer(start: nil, count: 0),
                from: (rank - distance + size) % size, to: rank)
            distance *= 2
        }
    }

    /// Copies `root`'s bytes into the buffer of every other rank.
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(CollectiveError) {
        precondition((0..<size).contains(root), "broadcast root \(root) is outside 0..<\(size)")
        if rank == root {
            for receiver in 0..<size where receiver != root {
                fabric.send(UnsafeRawBufferPointer(bytes), from: rank, to: receiver)
            }
        } else {
            try fabric.receive(into: bytes, from: root, to: rank)
        }
    }

    /// The whole sum at once (a superset of the owned part).
    public func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {
        try allreduceSum(values)
    }

    /// The allgather at once.
    public func startAllgather(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {
        try DeterministicAllreduce(pieceBytes: messagePieceBytes).gather(values, over: self)
    }

    /// The part the deterministic reduce-scatter leaves summed on this rank, as over MPI.
    public func ownedRange(count: Int) -> Range<Int> {
        supportsDeterministicReduction ? DeterministicAllreduce.ownedRange(rank: rank, size: size, count: count) : 0..<count
    }

    /// The deterministic tree sum over ranks.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError) {
        try DeterministicAllreduce(pieceBytes: messagePieceBytes).sum(values, over: self, scratch: scratch)
    }

    /// The deterministic tree sum over ranks.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {
        try DeterministicAllreduce(pieceBytes: messagePieceBytes).sum(values, over: self, scratch: scratch)
    }

    /// Elementwise maximum over ranks.
    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError) {
        try combineWithEveryRank(values, by: max)
    }

    /// Elementwise minimum over ranks.
    public func allreduceMin(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError) {
        try combineWithEveryRank(values, by: min)
    }

    /// Makes every other rank's pending and later calls throw `CollectiveError.aborted`,
    /// and parks this thread for the life of the process; the group's `run` returns
    /// the same error for this rank.
    public func abort(code: Int32) -> Never {
        fabric.abort(rank: rank, code: code)
        while true { InProcessCommunicator.parking.wait() }
    }

    private func combineWithEveryRank(
        _ values: UnsafeMutableBufferPointer<Int64>, by combine: (Int64, Int64) -> Int64
    ) throws(CollectiveError) {
        for receiver in 0..<size where receiver != rank {
            fabric.send(UnsafeRawBufferPointer(values), from: rank, to: receiver)
        }
        let other = scratch.reserve(bytes: values.count * 8).bindMemory(to: Int64.self, capacity: values.count)
        for sender in 0..<size where sender != rank {
            try fabric.receive(
                into: UnsafeMutableRawBufferPointer(start: other, count: values.count * 8), from: sender, to: rank)
            for index in values.indices { values[index] = combine(values[index], other[index]) }
        }
    }

    /// Never signalled: aborted ranks wait on it forever.
    private static let parking = DispatchSemaphore(value: 0)
}

extension InProcessCommunicator: PointToPointTransport {
    func exchange(
        send: UnsafeRawBufferPointer, receive: UnsafeMutableRawBufferPointer, partner: Int
    ) throws(CollectiveError) {
        precondition(send.count <= messagePieceBytes && receive.count <= messagePieceBytes,
                     "a message exceeds the \(messagePieceBytes)-byte piece size")
        fabric.send(send, from: rank, to: partner)
        try fabric.receive(into: receive, from: partner, to: rank)
    }
}
