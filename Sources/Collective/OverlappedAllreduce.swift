// OverlappedAllreduce: the deterministic sum of DeterministicAllreduce as a
// state machine over nonblocking messages, so gradient buckets can be summed
// while backward still computes earlier layers (DESIGN.md 1; issue: overlap).
//
// Each bucket runs the same recursive halving reduce-scatter and recursive
// doubling allgather with the same fixed partners (rank r with r XOR 2^s) and
// the same split points, adding lowerBlock + higherBlock: the bits equal the
// blocking algorithm's. Nonblocking MPI does not progress on its own here
// (MPI-NOTES.md), so the owner thread calls `progress()` between pieces of
// backward; `finish()` waits for the rest. A bucket travels as one message per
// stage, so buckets are at most one message piece (4 MiB).

import CMPI

/// Posts and tests nonblocking exchanges with a partner rank.
protocol NonblockingTransport: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Posts a send of `send` to and a receive of `receive` from `partner`, matched by `tag`.
    func postExchange(
        send: UnsafeRawBufferPointer, receive: UnsafeMutableRawBufferPointer, partner: Int, tag: Int32,
        requests: UnsafeMutablePointer<MPI_Request>
    ) throws(CollectiveError)
    /// Whether both requests (send, receive) of a posted exchange completed.
    func testExchange(_ requests: UnsafeMutablePointer<MPI_Request>) throws(CollectiveError) -> Bool
    /// Blocks until both requests of a posted exchange completed.
    func waitExchange(_ requests: UnsafeMutablePointer<MPI_Request>) throws(CollectiveError)
}

/// One bucket's sum in flight.
final class OverlappedSum {
    /// Which stages a run covers.
    enum Part {
        /// Reduce-scatter and allgather: the sum on every rank.
        case whole
        /// The reduce-scatter only: the sum on the rank's owned range.
        case reduceScatter
        /// The allgather only: every rank's owned range to every rank.
        case allgather
    }

    let tag: Int
    private var base: UnsafeMutablePointer<Float>?
    private var count = 0
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCapacity: Int
    private let requests = UnsafeMutablePointer<MPI_Request>.allocate(capacity: 2)
    /// Stages 0..<L reduce-scatter, L..<2L allgather; -1 = idle.
    private var stage = -1
    /// The stage at which this run is done.
    private var endStage = 0
    private var kept = 0..<0
    private var posted = false

    init(tag: Int) {
        self.tag = tag
        scratchCapacity = 0
        scratch = .allocate(capacity: 1)
        requests.initialize(repeating: dpt_mpi_request_null(), count: 2)
    }

    deinit {
        scratch.deallocate()
        requests.deallocate()
    }

    var isDone: Bool { stage < 0 }

    /// Starts `part` of the sum of `values` (every rank calls with the same length and tag).
    func start(
        _ values: UnsafeMutableBufferPointer<Float>, over transport: some NonblockingTransport, part: Part
    ) throws(CollectiveError) {
        precondition(stage < 0, "bucket \(tag) started twice")
        base = values.baseAddress
        count = values.count
        let needed = (count + 1) / 2
        if scratchCapacity < needed {
            scratch.deallocate()
            scratch = .allocate(capacity: max(needed, 1))
            scratchCapacity = needed
        }
        let steps = transport.size.trailingZeroBitCount
        stage = part == .allgather ? steps : 0
        endStage = part == .reduceScatter ? steps : 2 * steps
        kept = 0..<count
        posted = false
        try advance(over: transport, blocking: false)
    }

    /// Moves through every stage whose messages have arrived; with `blocking`, to the end.
    func advance(over transport: some NonblockingTransport, blocking: Bool) throws(CollectiveError) {
        guard stage >= 0, let base else { return }
        let steps = transport.size.trailingZeroBitCount
        while stage < endStage {
            let reducing = stage < steps
            let step = reducing ? stage : 2 * steps - 1 - stage
            let partner = transport.rank ^ (1 << step)
            let isLower = transport.rank & (1 << step) == 0
            let whole = reducing ? kept : DeterministicAllreduce.range(before: step, rank: transport.rank, count: count)
            let (keep, give) = DeterministicAllreduce.split(whole, isLower: isLower)
            if !posted {
                let messageTag = Int32(truncatingIfNeeded: (tag &* 64 &+ stage) & 0x3FFF_FFFF)
                if reducing {
                    try transport.postExchange(
                        send: UnsafeRawBufferPointer(start: base + give.lowerBound, count: give.count * 4),
                        receive: UnsafeMutableRawBufferPointer(start: scratch, count: keep.count * 4),
                        partner: partner, tag: messageTag, requests: requests)
                } else {
                    try transport.postExchange(
                        send: UnsafeRawBufferPointer(start: base + keep.lowerBound, count: keep.count * 4),
                        receive: UnsafeMutableRawBufferPointer(start: base + give.lowerBound, count: give.count * 4),
                        partner: partner, tag: messageTag, requests: requests)
                }
                posted = true
            }
            if blocking {
                try transport.waitExchange(requests)
            } else if try !transport.testExchange(requests) {
                return
            }
            posted = false
            if reducing {
                let mine = base + keep.lowerBound
                if isLower {
                    for j in 0..<keep.count { mine[j] = mine[j] + scratch[j] }
                } else {
                    for j in 0..<keep.count { mine[j] = scratch[j] + mine[j] }
                }
                kept = keep
            }
            stage += 1
        }
        stage = -1
    }
}
