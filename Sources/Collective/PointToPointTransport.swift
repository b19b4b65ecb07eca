// PointToPointTransport: the one operation the deterministic reduction needs
// from a transport, a simultaneous send to and receive from one partner rank.
// MPI (MPI_Sendrecv) and the in-process group (shared memory) implement it, so
// the reduction itself is written once, in DeterministicAllreduce.swift.

/// Moves bytes between pairs of ranks.
protocol PointToPointTransport: AnyObject {
    /// This rank's index, `0..<size`.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }

    /// Sends `send` to `partner` and fills `receive` with what `partner` sends.
    ///
    /// The partner makes the matching call at the same point of its program,
    /// with the lengths swapped. Either buffer may be empty. Neither is longer
    /// than the reduction's message piece (at most 4 MiB by default).
    func exchange(
        send: UnsafeRawBufferPointer,
        receive: UnsafeMutableRawBufferPointer,
        partner: Int
    ) throws(CollectiveError)
}
