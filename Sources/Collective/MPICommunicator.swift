// MPICommunicator: the ranks of an MPI job (MPICH), or a world of one when
// the binary was started without mpiexec (DESIGN.md 6).
//
// Deterministic sums run DeterministicAllreduce over MPI_Sendrecv, or, when
// every rank shares this node, NodeSharedSums over shared-memory windows
// (which also carry the small maximum/minimum of the step agreement); the
// `.mpi` algorithm, other maxima and minima, broadcast and barrier use MPI's
// own collectives. Large buffers travel in pieces of at most 4 MiB, above which
// MPICH on shared memory slows sharply (MPI-NOTES.md). Errors come back as
// return codes (MPI_ERRORS_RETURN) and become CollectiveError.mpi. MPI is
// initialised with MPI_THREAD_FUNNELED: every call must come from the thread
// that created the communicator.

import CMPI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ranks of an MPI job.
///
/// Create one per process, on the thread that will make every MPI call, and
/// call `finalize()` before the process exits: a rank that exits without it
/// can leave the others of a multi-host job hanging (MPI-NOTES.md).
public final class MPICommunicator: Communicator {
    /// This rank's index in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of ranks in `MPI_COMM_WORLD`.
    public let size: Int
    /// How Float and Double buffers are summed.
    public let reduction: ReductionAlgorithm
    /// The largest message sent at once, in bytes.
    public let messagePieceBytes: Int

    /// A duplicate of MPI_COMM_WORLD, so no other traffic can match our messages.
    private var communicator: MPI_Comm
    private let ownerThread: pthread_t
    private var isFinalized = false
    private let scratch = ScratchSpace()
    /// Bucket sums, created on first use and reused every step.
    private var overlapped: [Int: OverlappedSum] = [:]
    private var inFlight: [OverlappedSum] = []
    /// Sums through shared-memory windows, when every rank is on this node.
    private var nodeShared: NodeSharedSums?
    /// How those sums move values: what every rank asked for, or `.cache` if they differ.
    public let transport: SharedMemoryTransport
    private static let exchangeTag: Int32 = 0x4450

    /// Initialises MPI with `MPI_THREAD_FUNNELED` and joins the world.
    ///
    /// - Parameters:
    ///   - reduction: how Float and Double buffers are summed.
    ///   - messagePieceBytes: the largest message sent at once (at least 16).
    ///   - nodeSharedMemory: whether deterministic sums may go through
    ///     shared-memory windows when every rank runs on this node (used only
    ///     if every rank asks for it).
    ///   - transport: how those sums move values (the same on every rank).
    public init(
        reduction: ReductionAlgorithm = .deterministic,
        messagePieceBytes: Int = 4 << 20,
        nodeSharedMemory: Bool = true,
        transport: SharedMemoryTransport = .adaptive
    ) throws(CollectiveError) {
        precondition(messagePieceBytes >= 16, "message pieces must hold at least 16 bytes")
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        try Self.check(MPI_Initialized(&initialized), "MPI_Initialized")
        try Self.check(MPI_Finalized(&finalized), "MPI_Finalized")
        guard initialized == 0, finalized == 0 else { throw .mpiAlreadyInitialized }

        var provided: Int32 = 0
        var agreedTransport = transport
        try Self.check(MPI_Init_thread(nil, nil, dpt_mpi_thread_funneled(), &provided), "MPI_Init_thread")
        var duplicate = dpt_mpi_comm_world()
        var rank: Int32 = 0
        var size: Int32 = 0
        do throws(CollectiveError) {
            guard provided >= dpt_mpi_thread_funneled() else { throw .threadLevelTooLow(provided: provided) }
            let world = dpt_mpi_comm_world()
            try Self.check(MPI_Comm_set_errhandler(world, dpt_mpi_errors_return()), "MPI_Comm_set_errhandler")
            try Self.check(MPI_Comm_dup(world, &duplicate), "MPI_Comm_dup")
            try Self.check(MPI_Comm_rank(duplicate, &rank), "MPI_Comm_rank")
            try Self.check(MPI_Comm_size(duplicate, &size), "MPI_Comm_size")
            let shares = try Self.everyRankSharesThisNode(
                duplicate, size: Int(size), asked: nodeSharedMemory && reduction == .deterministic)
            if shares {
                let sums = try NodeSharedSums(communicator: duplicate, rank: Int(rank), size: Int(size))
                agreedTransport = try Self.agreedTransport(transport, duplicate)
                sums.streams = agreedTransport != .cache
                nodeShared = sums
            }
        } catch {
            MPI_Finalize()
            throw error
        }
        self.rank = Int(rank)
        self.size = Int(size)
        self.reduction = reduction
        self.messagePieceBytes = messagePieceBytes
        self.communicator = duplicate
        self.ownerThread = pthread_self()
        self.transport = agreedTransport
    }

    /// Every rank's `transport` if they all name the same, else `.cache` (collective).
    private static func agreedTransport(
        _ transport: SharedMemoryTransport, _ world: MPI_Comm
    ) throws(CollectiveError) -> SharedMemoryTransport {
        let index = Int64(SharedMemoryTransport.allCases.firstIndex(of: transport) ?? 0)
        var bounds: (Int64, Int64) = (index, -index)
        try withUnsafeMutableBytes(of: &bounds) { (raw) throws(CollectiveError) in
            try check(
                MPI_Allreduce(dpt_mpi_in_place(), raw.baseAddress, 2, dpt_mpi_int64(), dpt_mpi_max(), world),
                "MPI_Allreduce")
        }
        return bounds.0 == -bounds.1 ? transport : .cache
    }

    /// True on every rank when all of them asked for shared memory, run on
    /// this node, and the deterministic sum applies (2...64 ranks, a power of two).
    private static func everyRankSharesThisNode(_ world: MPI_Comm, size: Int, asked: Bool) throws(CollectiveError) -> Bool {
        guard size > 1 else { return false }
        var node = dpt_mpi_comm_world()
        try check(MPI_Comm_split_type(world, dpt_mpi_comm_type_shared(), 0, dpt_mpi_info_null(), &node), "MPI_Comm_split_type")
        var nodeSize: Int32 = 0
        let sized = MPI_Comm_size(node, &nodeSize)
        MPI_Comm_free(&node)
        try check(sized, "MPI_Comm_size")
        var able: Int64 = asked && Int(nodeSize) == size && size <= 64 && size & (size - 1) == 0 ? 1 : 0
        try check(MPI_Allreduce(dpt_mpi_in_place(), &able, 1, dpt_mpi_int64(), dpt_mpi_min(), world), "MPI_Allreduce")
        return able == 1
    }

    /// Node-shared floats for the deterministic sum (see `Communicator`); nil
    /// when the ranks do not all share this node or /dev/shm lacks room.
    public func nodeSharedFloats(count: Int, summed: Bool) throws(CollectiveError) -> UnsafeMutablePointer<Float>? {
        enter()
        guard let nodeShared else { return nil }
        let buffers = summed ? size : 1
        var room: Int64 = Self.sharedMemoryFree() >= size * buffers * (count * 4 + 4096) ? 1 : 0
        try Self.check(MPI_Allreduce(dpt_mpi_in_place(), &room, 1, dpt_mpi_int64(), dpt_mpi_min(), communicator), "MPI_Allreduce")
        guard room == 1 else { return nil }
        return try nodeShared.allocate(count: count, summed: summed)
    }

    /// Free bytes of /dev/shm, where MPICH maps shared windows (0 if unknown).
    private static func sharedMemoryFree() -> Int {
        var stats = statvfs()
        guard statvfs("/dev/shm", &stats) == 0 else { return 0 }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    /// Leaves MPI. Call once, on every rank, after the last collective call.
    public func finalize() throws(CollectiveError) {
        enter()
        isFinalized = true
        try nodeShared?.free()
        try Self.check(MPI_Comm_free(&communicator), "MPI_Comm_free")
        try Self.check(MPI_Finalize(), "MPI_Finalize")
    }

    /// Returns once every rank has entered the barrier.
    public func barrier() throws(CollectiveError) {
        enter()
        try Self.check(MPI_Barrier(communicator), "MPI_Barrier")
    }

    /// Copies `root`'s bytes into the buffer of every other rank.
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(CollectiveError) {
        enter()
        precondition((0..<size).contains(root), "broadcast root \(root) is outside 0..<\(size)")
        guard let base = bytes.baseAddress else { return }
        for start in stride(from: 0, to: bytes.count, by: messagePieceBytes) {
            let count = min(messagePieceBytes, bytes.count - start)
            try Self.check(
                MPI_Bcast(base + start, Int32(count), dpt_mpi_byte(), Int32(root), communicator),
                "MPI_Bcast")
        }
    }

    /// Sums `values` over ranks with the configured algorithm.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError) {
        enter()
        switch reduction {
        case .deterministic:
            try DeterministicAllreduce(pieceBytes: messagePieceBytes).sum(values, over: self, scratch: scratch)
        case .mpi:
            try nativeAllreduce(UnsafeMutableRawBufferPointer(values), stride: 4, dpt_mpi_float(), dpt_mpi_sum())
        }
    }

    /// Sums `values` over ranks with the configured algorithm.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {
        enter()
        switch reduction {
        case .deterministic:
            try DeterministicAllreduce(pieceBytes: messagePieceBytes).sum(values, over: self, scratch: scratch)
        case .mpi:
            try nativeAllreduce(UnsafeMutableRawBufferPointer(values), stride: 8, dpt_mpi_double(), dpt_mpi_sum())
        }
    }

    /// Starts a deterministic bucket sum on nonblocking messages (`.mpi`: sums at once).
    public func startSum(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {
        enter()
        guard reduction == .deterministic, size > 1 else { return try allreduceSum(values) }
        if let nodeShared, try nodeShared.start(values, kind: .whole) { return }
        try begin(values, bucket: bucket, part: .whole)
    }

    /// Starts a deterministic bucket reduce-scatter (`.mpi`: the whole sum at once).
    public func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {
        enter()
        guard reduction == .deterministic, size > 1 else { return try allreduceSum(values) }
        if let nodeShared, try nodeShared.start(values, kind: .reduceScatter) { return }
        try begin(values, bucket: bucket, part: .reduceScatter)
    }

    /// Starts a deterministic bucket allgather (`.mpi`: nothing to do, every rank owns the whole).
    public func startAllgather(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {
        enter()
        guard reduction == .deterministic, size > 1 else { return }
        if let nodeShared, try nodeShared.start(values, kind: .allgather) { return }
        try begin(values, bucket: bucket, part: .allgather)
    }

    /// The part a deterministic reduce-scatter leaves summed here; the whole with `.mpi`.
    public func ownedRange(count: Int) -> Range<Int> {
        guard reduction == .deterministic, size > 1, supportsDeterministicReduction else { return 0..<count }
        return DeterministicAllreduce.ownedRange(rank: rank, size: size, count: count)
    }

    /// Starts `part` of `bucket`'s state machine (made on first use) on `values`.
    private func begin(
        _ values: UnsafeMutableBufferPointer<Float>, bucket: Int, part: OverlappedSum.Part
    ) throws(CollectiveError) {
        guard supportsDeterministicReduction else { throw .worldSizeNotPowerOfTwo(size: size) }
        precondition(values.count * 4 <= messagePieceBytes, "bucket \(bucket) exceeds one message piece")
        let sum: OverlappedSum
        if let existing = overlapped[bucket] {
            sum = existing
        } else {
            sum = OverlappedSum(tag: bucket)
            overlapped[bucket] = sum
            inFlight.reserveCapacity(overlapped.count)
        }
        try sum.start(values, over: self, part: part)
        inFlight.append(sum)
    }

    /// Advances every started bucket sum whose messages have arrived.
    public func progressSums() throws(CollectiveError) {
        enter()
        for sum in inFlight { try sum.advance(over: self, blocking: false) }
        try nodeShared?.progress()
    }

    /// Runs `work` while waiting on the ranks of this node (shared-memory sums and flags).
    public func setIdleWork(_ work: (any IdleWork)?) {
        nodeShared?.idleWork = work
    }

    /// With `--shared-memory-transport adaptive` on ranks that share a node.
    public var choosesTransport: Bool { nodeShared != nil && transport == .adaptive }

    /// Streams the node-shared sums through memory, or reads them through the caches.
    public func setStreaming(_ streaming: Bool) {
        enter()
        nodeShared?.streams = streaming
    }

    /// Completes every started bucket sum.
    public func finishSums() throws(CollectiveError) {
        enter()
        for sum in inFlight { try sum.advance(over: self, blocking: true) }
        inFlight.removeAll(keepingCapacity: true)
        try nodeShared?.finish()
    }

    /// Elementwise maximum over ranks (`MPI_Allreduce`, exact in any order).
    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError) {
        enter()
        if let nodeShared, values.count <= NodeSharedSums.flagValues { return nodeShared.allreduce(values, by: max) }
        try nativeAllreduce(UnsafeMutableRawBufferPointer(values), stride: 8, dpt_mpi_int64(), dpt_mpi_max())
    }

    /// Elementwise minimum over ranks (`MPI_Allreduce`, exact in any order).
    public func allreduceMin(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError) {
        enter()
        if let nodeShared, values.count <= NodeSharedSums.flagValues { return nodeShared.allreduce(values, by: min) }
        try nativeAllreduce(UnsafeMutableRawBufferPointer(values), stride: 8, dpt_mpi_int64(), dpt_mpi_min())
    }

    /// Ends every rank of the job with `MPI_Abort`, a moment after the rank's
    /// last words: the launcher forwards a rank's stderr on its own schedule,
    /// and an abort that tears the job down first loses the line that says why
    /// (seen once in a loaded test run: exit code 70, empty stderr).
    public func abort(code: Int32) -> Never {
        usleep(200_000)
        MPI_Abort(dpt_mpi_comm_world(), code)
        // MPI_Abort does not return; if a broken library lets it, still end.
        exit(code)
    }

    /// In-place `MPI_Allreduce` over pieces of at most `messagePieceBytes`.
    private func nativeAllreduce(
        _ bytes: UnsafeMutableRawBufferPointer, stride: Int, _ datatype: MPI_Datatype, _ operation: MPI_Op
    ) throws(CollectiveError) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count / stride
        let piece = messagePieceBytes / stride
        for start in Swift.stride(from: 0, to: count, by: piece) {
            let length = min(piece, count - start)
            try Self.check(
                MPI_Allreduce(dpt_mpi_in_place(), base + start * stride, Int32(length), datatype, operation,
                              communicator),
                "MPI_Allreduce")
        }
    }

    private func enter() {
        precondition(!isFinalized, "MPICommunicator used after finalize()")
        precondition(pthread_equal(pthread_self(), ownerThread) != 0,
                     "MPI is initialised FUNNELED: call it only from the thread that created the communicator")
    }

    static func check(_ code: Int32, _ function: String) throws(CollectiveError) {
        guard code != MPI_SUCCESS else { return }
        throw .mpi(function: function, message: errorString(code))
    }

    /// `MPI_Error_string` of `code`'s error class ("Message truncated"), on one
    /// line; MPICH's string for the code itself carries a multi-line call stack.
    private static func errorString(_ code: Int32) -> String {
        var errorClass: Int32 = 0
        let described = MPI_Error_class(code, &errorClass) == MPI_SUCCESS ? errorClass : code
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(described, &text, &length) == MPI_SUCCESS else { return "MPI error code \(code)" }
        let bytes = text.prefix(max(0, min(Int(length), text.count))).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .map { String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()) }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}

extension MPICommunicator: PointToPointTransport {
    func exchange(
        send: UnsafeRawBufferPointer, receive: UnsafeMutableRawBufferPointer, partner: Int
    ) throws(CollectiveError) {
        try Self.check(
            MPI_Sendrecv(
                send.baseAddress, Int32(send.count), dpt_mpi_byte(), Int32(partner), Self.exchangeTag,
                receive.baseAddress, Int32(receive.count), dpt_mpi_byte(), Int32(partner), Self.exchangeTag,
                communicator, dpt_mpi_status_ignore()),
            "MPI_Sendrecv")
    }
}

extension MPICommunicator: NonblockingTransport {
    func postExchange(
        send: UnsafeRawBufferPointer, receive: UnsafeMutableRawBufferPointer, partner: Int, tag: Int32,
        requests: UnsafeMutablePointer<MPI_Request>
    ) throws(CollectiveError) {
        try Self.check(
            MPI_Irecv(receive.baseAddress, Int32(receive.count), dpt_mpi_byte(), Int32(partner), tag, communicator,
                      requests + 1),
            "MPI_Irecv")
        try Self.check(
            MPI_Isend(send.baseAddress, Int32(send.count), dpt_mpi_byte(), Int32(partner), tag, communicator, requests),
            "MPI_Isend")
    }

    func testExchange(_ requests: UnsafeMutablePointer<MPI_Request>) throws(CollectiveError) -> Bool {
        var done: Int32 = 0
        try Self.check(MPI_Testall(2, requests, &done, dpt_mpi_statuses_ignore()), "MPI_Testall")
        return done != 0
    }

    func waitExchange(_ requests: UnsafeMutablePointer<MPI_Request>) throws(CollectiveError) {
        try Self.check(MPI_Waitall(2, requests, dpt_mpi_statuses_ignore()), "MPI_Waitall")
    }
}
