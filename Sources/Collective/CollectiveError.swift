// CollectiveError: every way a collective call can fail, each with a one-line
// message that names the rank, size or MPI function and says what to do.

/// A failed collective call.
public enum CollectiveError: Error, Equatable, CustomStringConvertible {
    /// The deterministic sum was asked for at a world size that is not a power of two.
    case worldSizeNotPowerOfTwo(size: Int)
    /// An MPI function returned an error; `message` is its `MPI_Error_string` on one line.
    case mpi(function: String, message: String)
    /// MPI granted a thread level below `MPI_THREAD_FUNNELED`.
    case threadLevelTooLow(provided: Int32)
    /// MPI was already initialised, or already finalised, in this process.
    case mpiAlreadyInitialized
    /// In-process group: `peer` ended while `rank` waited for a message from it.
    case peerExited(rank: Int, peer: Int)
    /// In-process group: a rank called `abort(code:)`.
    case aborted(rank: Int, code: Int32)
    /// In-process group: `rank` waited longer than `seconds` for a message from `peer`.
    case timedOut(rank: Int, peer: Int, seconds: Double)
    /// In-process group: a message from `peer` did not have the length `rank` expected.
    case messageLengthMismatch(rank: Int, peer: Int, expectedBytes: Int, receivedBytes: Int)
    /// Node-shared memory: `rank`'s operation `index` since the last finish is another buffer than ours.
    case mismatchedSharedOperation(rank: Int, index: Int)

    public var description: String {
        switch self {
        case .worldSizeNotPowerOfTwo(let size):
            let below = 1 << (Int.bitWidth - 1 - max(size, 1).leadingZeroBitCount)
            return "the deterministic reduction needs a power-of-two number of ranks, but "
                + "this job has \(size); run with \(below) or \(below * 2) ranks, "
                + "or choose the non-bitwise MPI reduction"
        case .mpi(let function, let message):
            return "\(function) failed: \(message)"
        case .threadLevelTooLow(let provided):
            return "MPI granted thread level \(provided), below MPI_THREAD_FUNNELED; "
                + "use an MPI library built with thread support"
        case .mpiAlreadyInitialized:
            return "MPI was already initialised or finalised in this process; "
                + "create exactly one MPICommunicator per process"
        case .peerExited(let rank, let peer):
            return "rank \(rank) waited for a message from rank \(peer), which had already "
                + "finished; every rank must make the same collective calls"
        case .aborted(let rank, let code):
            return "rank \(rank) aborted the job with code \(code)"
        case .timedOut(let rank, let peer, let seconds):
            return "rank \(rank) waited more than \(seconds) s for a message from rank \(peer); "
                + "a rank skipped or reordered a collective call"
        case .messageLengthMismatch(let rank, let peer, let expected, let received):
            return "rank \(rank) expected \(expected) bytes from rank \(peer) but received "
                + "\(received); every rank must pass buffers of the same length"
        case .mismatchedSharedOperation(let rank, let index):
            return "rank \(rank) summed another buffer as its bucket \(index) of this step; "
                + "every rank must start the same buckets in the same order"
        }
    }
}
