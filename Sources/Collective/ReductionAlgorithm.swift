// ReductionAlgorithm: how an MPI communicator sums Float and Double buffers,
// bitwise reproducibly (DESIGN.md 3) or however the MPI library prefers.

/// How `MPICommunicator` sums Float and Double buffers.
public enum ReductionAlgorithm: String, Sendable, CaseIterable {
    /// Recursive halving and doubling with fixed partners over point-to-point
    /// messages: bitwise the balanced binary tree over ranks, the same on every
    /// rank. Needs a power-of-two number of ranks.
    case deterministic
    /// `MPI_Allreduce`: any number of ranks, but the order of additions is the
    /// library's, so the bits may change with the world size or the transport.
    case mpi
}

/// How node-shared sums move values between the ranks of a node (the same bits every way).
public enum SharedMemoryTransport: String, Sendable, CaseIterable {
    /// Whichever of the two the step times favour, tried again now and then.
    case adaptive
    /// Streamed through memory with non-temporal stores.
    case stream
    /// Read from the other ranks' copies, through the caches.
    case cache
}
