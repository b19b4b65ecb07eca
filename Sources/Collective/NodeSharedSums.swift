// NodeSharedSums: the deterministic sum for ranks that share one node,
// through MPI shared-memory windows instead of messages (DESIGN.md 3).
//
// The buffers summed every step (the gradient, the parameters after a
// sharded update) live in windows made by MPI_Win_allocate_shared: each rank
// has its own copy, at the same offset of its own segment, and can reach
// every other rank's. Each rank sums its owned range of a bucket (the ranges
// of the message algorithm) as the balanced tree over the ranks' values,
// ((x0 + x1) + (x2 + x3)) + ...: the bits of DeterministicAllreduce without
// a message. The values travel one of two ways (`streams`), the same bits
// either way:
// - through the caches: the owner reads the other ranks' copies in place, and
//   the allgather copies every other rank's owned range out of its copy;
// - streamed through memory: a summed buffer also has, on each rank, an inbox
//   (a slot per other rank, the buffer's size each); starting a bucket, a rank
//   streams its values on every other rank's owned range into its slot of
//   that rank's inbox, where the owner sums them, and the allgather streams
//   each rank's owned range into every other rank's copy. Non-temporal
//   stores: on a shared host whose cores sometimes read each other's freshly
//   written lines ~4× slower than memory, this is the steady way.
// The trainer switches between them by the step times it sees.
//
// Ranks signal through flags in a third window. Operation i (the i-th bucket
// started since the last `finish`, the same bucket on every rank) has a word
// holding generation × 4 + phase, stored with release and read with acquire:
// phase 1 = the rank's values are written (in its copy, or streamed to the
// inboxes: others may sum them), phase 2 = its owned range is final (in its
// copy, or streamed into every copy). While others may read a rank's copy,
// the rank writes only its own owned range, or another rank's range after
// that rank's phase 2; streaming, it writes another rank's memory only in its
// own slots and on its own owned range, which nobody else reads until the
// next generation. `finish` ends with a barrier on the same flags, so no
// rank writes a buffer another may still be reading.
// Then the generation advances. Nothing is allocated per step. A rank that
// waits runs pieces of its idle work first (the trainer's gather of the next
// micro-batch's rows), then spins.

import CKernels
import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bucket sums over buffers in node-shared memory, for ranks that all share one node.
final class NodeSharedSums {
    /// Which stages an operation covers (as OverlappedSum.Part).
    enum Kind: UInt64 {
        case reduceScatter = 1, allgather = 2, whole = 3
    }

    /// One started bucket.
    private struct Operation {
        var kind: Kind
        var segment: Int
        var offset: Int
        var count: Int
        /// Whether the values are streamed through memory (else read through the caches).
        var streamed: Bool
        /// Whether this rank's owned range is summed (or needs no sum).
        var reduced: Bool
        /// Bit q: rank q's owned range is here (or needs no copy).
        var copied: UInt64
        var done: Bool
    }

    /// One buffer, allocated collectively: every rank's copy, and for a summed
    /// buffer every rank's inbox (slots of `count` floats, one per other rank).
    private struct Segment {
        let window: MPI_Win
        let copies: [UnsafeMutablePointer<Float>]
        let count: Int
        let inboxWindow: MPI_Win?
        let inboxes: [UnsafeMutablePointer<Float>]
        /// What this rank sums for each sender: its own copy, else that sender's slot of its inbox.
        let sources: [UnsafeMutablePointer<Float>]

        /// Where rank `sender` streams its values for rank `owner`.
        func slot(of sender: Int, in owner: Int) -> UnsafeMutablePointer<Float> {
            inboxes[owner] + Self.slotOffset(of: sender, in: owner, count: count)
        }

        /// Floats from the start of an inbox of rank `owner` to the slot of rank `sender`.
        static func slotOffset(of sender: Int, in owner: Int, count: Int) -> Int {
            (sender < owner ? sender : sender - 1) * count
        }
    }

    /// Operations between two `finish` calls that can take this path; more go by messages.
    static let capacity = 4096
    /// Words per operation in a rank's flag area: flag, offset key, count key, unused.
    private static let wordsPerOperation = 4
    /// Floats summed per pass of the tree when more than two ranks add up.
    private static let chunk = 1024
    /// Largest Int64 buffer `allreduce(_:by:)` takes: a stamp and the values, in two slots.
    static let flagValues = 8
    private static let slotWords = 1 + flagValues
    /// Where the operations start in a flag area: the barrier word, then the two flag slots.
    private static let operationsStart = 1 + 2 * slotWords

    let rank: Int
    let size: Int
    private let communicator: MPI_Comm
    private let flagWindow: MPI_Win
    /// Each rank's flag area: word 0 the barrier, then `capacity` operations.
    private let flags: [UnsafeMutablePointer<UInt64>]
    private var segments: [Segment] = []
    private var operations: [Operation] = []
    private var remaining = 0
    private var generation: UInt64 = 1
    /// Calls of `allreduce(_:by:)` so far; call k uses slot k % 2.
    private var flagCalls: UInt64 = 0
    /// Tree levels for more than two ranks, `chunk` floats each.
    private let levels: UnsafeMutablePointer<Float>
    private var isFreed = false
    /// Run a piece at a time instead of pausing while this rank waits.
    var idleWork: (any IdleWork)?
    /// Whether operations started from now on stream their values through
    /// memory (a sum only where the buffer has inboxes). Set between
    /// generations, alike on every rank.
    var streams = true {
        willSet { precondition(operations.isEmpty, "the transport changes only between steps") }
    }

    /// Makes the flag window over `communicator`, whose ranks must all share this node (collective).
    init(communicator: MPI_Comm, rank: Int, size: Int) throws(CollectiveError) {
        precondition(size > 1 && size <= 64 && size & (size - 1) == 0, "node-shared sums need 2...64 ranks, a power of two")
        self.communicator = communicator
        self.rank = rank
        self.size = size
        let words = Self.operationsStart + Self.capacity * Self.wordsPerOperation
        let (window, copies) = try Self.allocate(bytes: words * 8, communicator: communicator, size: size)
        flagWindow = window
        flags = copies.map { $0.bindMemory(to: UInt64.self, capacity: words) }
        flags[rank].initialize(repeating: 0, count: words)
        levels = .allocate(capacity: (size.trailingZeroBitCount + 1) * Self.chunk)
        operations.reserveCapacity(Self.capacity)
        // Nobody reads a flag area before its owner has zeroed it.
        try Self.check(MPI_Barrier(communicator), "MPI_Barrier")
    }

    deinit { levels.deallocate() }

    /// `count` floats in a new window (collective): this rank's copy, zeroed;
    /// with `summed`, the inboxes its sums need too (else it is only gathered).
    func allocate(count: Int, summed: Bool) throws(CollectiveError) -> UnsafeMutablePointer<Float> {
        let (window, copies) = try Self.allocate(bytes: max(count, 1) * 4, communicator: communicator, size: size)
        let floats = copies.map { $0.bindMemory(to: Float.self, capacity: max(count, 1)) }
        floats[rank].initialize(repeating: 0, count: max(count, 1))
        var inboxWindow: MPI_Win?
        var inboxes: [UnsafeMutablePointer<Float>] = []
        if summed {
            let floatsPerInbox = max(count, 1) * (size - 1)
            let (window, bases) = try Self.allocate(bytes: floatsPerInbox * 4, communicator: communicator, size: size)
            inboxWindow = window
            inboxes = bases.map { $0.bindMemory(to: Float.self, capacity: floatsPerInbox) }
            inboxes[rank].initialize(repeating: 0, count: floatsPerInbox)
        }
        let slots = inboxes.isEmpty ? nil : inboxes[rank]
        let sources = (0..<size).map { (sender: Int) -> UnsafeMutablePointer<Float> in
            guard let slots, sender != rank else { return floats[rank] }
            return slots + Segment.slotOffset(of: sender, in: rank, count: count)
        }
        segments.append(Segment(
            window: window, copies: floats, count: count, inboxWindow: inboxWindow, inboxes: inboxes, sources: sources))
        try Self.check(MPI_Barrier(communicator), "MPI_Barrier")
        return floats[rank]
    }

    /// Frees every window (collective; before MPI_Finalize).
    func free() throws(CollectiveError) {
        guard !isFreed else { return }
        isFreed = true
        for segment in segments {
            try Self.release(segment.window)
            if let inboxWindow = segment.inboxWindow { try Self.release(inboxWindow) }
        }
        try Self.release(flagWindow)
        segments.removeAll()
    }

    /// Starts `kind` on `values` if they lie in a segment and there is room;
    /// false: the caller sends messages instead (every rank decides alike).
    func start(_ values: UnsafeMutableBufferPointer<Float>, kind: Kind) throws(CollectiveError) -> Bool {
        guard let base = values.baseAddress, operations.count < Self.capacity,
              let segment = segments.firstIndex(where: { base >= $0.copies[rank] && base + values.count <= $0.copies[rank] + $0.count })
        else { return false }
        let index = operations.count
        let operation = Operation(
            kind: kind, segment: segment, offset: base - segments[segment].copies[rank], count: values.count,
            streamed: streams && (kind == .allgather || !segments[segment].inboxes.isEmpty),
            reduced: kind == .allgather, copied: kind == .reduceScatter ? ~0 : 1 << UInt64(rank), done: false)
        let words = flagArea(rank, index)
        words[1] = Self.offsetKey(operation)
        words[2] = Self.countKey(operation)
        if operation.streamed {
            if kind == .allgather { push(operation) } else { sendContributions(operation) }
        }
        dpt_store_release(words, generation * 4 + (kind == .allgather ? 2 : 1))
        operations.append(operation)
        remaining += 1
        try advance(index)
        return true
    }

    /// Moves every started operation as far as the other ranks allow.
    func progress() throws(CollectiveError) {
        guard remaining > 0 else { return }
        for index in operations.indices where !operations[index].done { try advance(index) }
    }

    /// Completes every started operation, then waits until every rank has
    /// completed its own (so no copy is still being read), and opens the next generation.
    func finish() throws(CollectiveError) {
        guard !operations.isEmpty else { return }
        var spins = 0
        while remaining > 0 {
            try progress()
            if remaining > 0 { pause(&spins) }
        }
        dpt_store_release(flags[rank], generation)
        for other in 0..<size where other != rank {
            while dpt_load_acquire(flags[other]) < generation { pause(&spins) }
        }
        generation += 1
        operations.removeAll(keepingCapacity: true)
    }

    /// Replaces `values` (at most `flagValues`) by their elementwise maximum
    /// or minimum over ranks, through the flag window: the agreement of every
    /// step costs no MPI call. Call k writes slot k % 2 and stamps it k + 1;
    /// a rank can be at most one call ahead of another (it cannot finish call
    /// k + 1 before every rank has stamped it, after reading call k), so the
    /// slot it writes is never one another rank is still reading.
    func allreduce(_ values: UnsafeMutableBufferPointer<Int64>, by combine: (Int64, Int64) -> Int64) {
        precondition(values.count <= Self.flagValues, "at most \(Self.flagValues) flags at once")
        let slot = Int(flagCalls % 2) * Self.slotWords
        flagCalls += 1
        let mine = flags[rank] + 1 + slot
        for i in values.indices { mine[1 + i] = UInt64(bitPattern: values[i]) }
        dpt_store_release(mine, flagCalls)
        var spins = 0
        for other in 0..<size where other != rank {
            let theirs = flags[other] + 1 + slot
            while dpt_load_acquire(theirs) < flagCalls { pause(&spins) }
        }
        // Every rank combines in rank order, so all hold the same result.
        for i in values.indices {
            var result = Int64(bitPattern: flags[0][1 + slot + 1 + i])
            for other in 1..<size { result = combine(result, Int64(bitPattern: flags[other][1 + slot + 1 + i])) }
            values[i] = result
        }
    }

    /// One operation's next stages, as far as other ranks' flags allow.
    private func advance(_ index: Int) throws(CollectiveError) {
        var operation = operations[index]
        if !operation.reduced {
            for other in 0..<size where other != rank {
                guard try isPublished(other, index, phase: 1, operation) else { return }
            }
            sumOwnedRange(operation)
            operation.reduced = true
            if operation.kind == .whole {
                if operation.streamed { push(operation) }
                dpt_store_release(flagArea(rank, index), generation * 4 + 2)
            }
        }
        let all: UInt64 = size == 64 ? ~0 : (1 << UInt64(size)) - 1
        if operation.copied & all != all {
            for other in 0..<size where operation.copied & (1 << UInt64(other)) == 0 {
                guard try isPublished(other, index, phase: 2, operation) else { continue }
                // Streamed, its owner has written the range here already.
                if !operation.streamed {
                    let owned = DeterministicAllreduce.ownedRange(rank: other, size: size, count: operation.count)
                    let start = operation.offset + owned.lowerBound
                    let copies = segments[operation.segment].copies
                    (copies[rank] + start).update(from: copies[other] + start, count: owned.count)
                }
                operation.copied |= 1 << UInt64(other)
            }
        }
        if operation.copied & all == all {
            operation.done = true
            remaining -= 1
        }
        operations[index] = operation
    }

    /// Whether rank `other` has reached `phase` of operation `index`; throws
    /// when its operation there is another bucket (the ranks' calls differ).
    private func isPublished(_ other: Int, _ index: Int, phase: UInt64, _ operation: Operation) throws(CollectiveError) -> Bool {
        let words = flagArea(other, index)
        guard dpt_load_acquire(words) >= generation * 4 + phase else { return false }
        guard words[1] == Self.offsetKey(operation), words[2] == Self.countKey(operation) else {
            throw .mismatchedSharedOperation(rank: other, index: index)
        }
        return true
    }

    /// Streams this rank's owned range of the operation into every other rank's copy.
    private func push(_ operation: Operation) {
        let owned = DeterministicAllreduce.ownedRange(rank: rank, size: size, count: operation.count)
        let copies = segments[operation.segment].copies
        let start = operation.offset + owned.lowerBound
        for other in 0..<size where other != rank {
            dpt_stream_copy(copies[other] + start, copies[rank] + start, owned.count)
        }
    }

    /// Streams this rank's values on every other rank's owned range of the
    /// operation into its slot of that rank's inbox.
    private func sendContributions(_ operation: Operation) {
        let segment = segments[operation.segment]
        for owner in 0..<size where owner != rank {
            let owned = DeterministicAllreduce.ownedRange(rank: owner, size: size, count: operation.count)
            let start = operation.offset + owned.lowerBound
            dpt_stream_copy(segment.slot(of: rank, in: owner) + start, segment.copies[rank] + start, owned.count)
        }
    }

    /// This rank's owned range of the operation: the balanced tree over the
    /// ranks' values, their copies, or streamed, this rank's own copy and its
    /// inbox for the others.
    private func sumOwnedRange(_ operation: Operation) {
        let owned = DeterministicAllreduce.ownedRange(rank: rank, size: size, count: operation.count)
        let segment = segments[operation.segment]
        let sources = operation.streamed ? segment.sources : segment.copies
        let start = operation.offset + owned.lowerBound
        let target = sources[rank] + start
        if size == 2 {
            dpt_add_matrices(target, 0, sources[0] + start, 0, sources[1] + start, 0, 1, owned.count)
            return
        }
        var done = 0
        while done < owned.count {
            let length = min(Self.chunk, owned.count - done)
            tree(sources, first: 0, count: size, at: start + done, length: length, into: levels, level: 1)
            (target + done).update(from: levels, count: length)
            done += length
        }
    }

    /// `out` = the tree over the sources of ranks `first ..< first + count` (a power of two, at least 2).
    private func tree(
        _ sources: [UnsafeMutablePointer<Float>], first: Int, count: Int, at start: Int, length: Int,
        into out: UnsafeMutablePointer<Float>, level: Int
    ) {
        if count == 2 {
            dpt_add_matrices(out, 0, sources[first] + start, 0, sources[first + 1] + start, 0, 1, length)
            return
        }
        let half = count / 2
        let right = levels + level * Self.chunk
        tree(sources, first: first, count: half, at: start, length: length, into: out, level: level + 1)
        tree(sources, first: first + half, count: half, at: start, length: length, into: right, level: level + 1)
        dpt_add_matrices(out, 0, out, 0, right, 0, 1, length)
    }

    private func flagArea(_ owner: Int, _ index: Int) -> UnsafeMutablePointer<UInt64> {
        flags[owner] + Self.operationsStart + index * Self.wordsPerOperation
    }

    private static func offsetKey(_ operation: Operation) -> UInt64 {
        UInt64(operation.segment) << 48 | UInt64(operation.offset)
    }

    private static func countKey(_ operation: Operation) -> UInt64 {
        UInt64(operation.count) << 3 | (operation.streamed ? 4 : 0) | operation.kind.rawValue
    }

    /// Runs a piece of the idle work if there is one; else spins briefly,
    /// then yields the core, then sleeps between looks: ranks may outnumber
    /// cores, and a long wait must leave them to the others.
    private func pause(_ spins: inout Int) {
        if let idleWork, idleWork.runPiece() { return }
        spins += 1
        if spins < 2_000 {
            dpt_spin_pause()
        } else if spins < 20_000 {
            sched_yield()
        } else {
            usleep(50)
        }
    }

    /// A shared window of `bytes` per rank, and every rank's segment.
    private static func allocate(
        bytes: Int, communicator: MPI_Comm, size: Int
    ) throws(CollectiveError) -> (MPI_Win, [UnsafeMutableRawPointer]) {
        var info = dpt_mpi_info_null()
        try check(MPI_Info_create(&info), "MPI_Info_create")
        defer { MPI_Info_free(&info) }
        // Each rank's segment on its own pages.
        try check(MPI_Info_set(info, "alloc_shared_noncontig", "true"), "MPI_Info_set")
        var window = MPI_Win(0)
        var base: UnsafeMutableRawPointer?
        let rounded = (bytes + 4095) & ~4095
        try check(MPI_Win_allocate_shared(MPI_Aint(rounded), 1, info, communicator, &base, &window), "MPI_Win_allocate_shared")
        try check(MPI_Win_lock_all(dpt_mpi_mode_nocheck(), window), "MPI_Win_lock_all")
        var copies: [UnsafeMutableRawPointer] = []
        for other in 0..<size {
            var length = MPI_Aint(0)
            var unit: Int32 = 0
            var pointer: UnsafeMutableRawPointer?
            try check(MPI_Win_shared_query(window, Int32(other), &length, &unit, &pointer), "MPI_Win_shared_query")
            guard let pointer, Int(length) >= rounded else {
                throw .mpi(function: "MPI_Win_shared_query", message: "rank \(other)'s segment is missing or short")
            }
            copies.append(pointer)
        }
        return (window, copies)
    }

    private static func release(_ window: MPI_Win) throws(CollectiveError) {
        var window = window
        try check(MPI_Win_unlock_all(window), "MPI_Win_unlock_all")
        try check(MPI_Win_free(&window), "MPI_Win_free")
    }

    private static func check(_ code: Int32, _ function: String) throws(CollectiveError) {
        try MPICommunicator.check(code, function)
    }
}
