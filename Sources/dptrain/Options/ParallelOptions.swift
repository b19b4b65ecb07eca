// `--threads`, `--reduction`, start-up and synchronisation guards: how a rank
// uses its cores and how the ranks of a job stay together.

import ArgumentParser
import Collective

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ParallelOptions: ParsableArguments {
    @Option(help: "Worker threads per rank (default: cores ÷ ranks on this node).")
    var threads: Int?

    @Option(help: "Gradient reduction across ranks: deterministic (bitwise, power-of-two world sizes) or mpi (MPI_Allreduce, any world size dividing the micro-batch count, not bitwise).")
    var reduction = "deterministic"

    @Flag(inversion: .prefixedNo, help: "Ranks that all run on one node sum gradients through MPI shared-memory windows instead of messages (the same bits).")
    var sharedMemory = true

    @Option(help: "How shared-memory sums move values between ranks: stream (through memory, non-temporal stores), cache (each rank reads the others' copies), or adaptive (whichever the step times favour, tried again now and then). The same bits every way.")
    var sharedMemoryTransport = "adaptive"

    @Option(help: "Seconds the start-up checks may take before the job is aborted.")
    var startupTimeout: Double = 60

    @Option(help: "Seconds one step may take before the job is aborted (0: no limit).")
    var stepTimeout: Double = 0

    @Option(help: "Compare a checksum of the parameters across ranks every N steps (0: never).")
    var verifySyncEvery = 100

    /// The reduction algorithm named by `--reduction`.
    func reductionAlgorithm() throws(CommandFailure) -> ReductionAlgorithm {
        guard let algorithm = ReductionAlgorithm(rawValue: reduction) else {
            throw .usage("--reduction '\(reduction)': valid: deterministic, mpi")
        }
        return algorithm
    }

    /// The transport named by `--shared-memory-transport`.
    func transport() throws(CommandFailure) -> SharedMemoryTransport {
        guard let transport = SharedMemoryTransport(rawValue: sharedMemoryTransport) else {
            throw .usage("--shared-memory-transport '\(sharedMemoryTransport)': valid: adaptive, stream, cache")
        }
        return transport
    }

    /// Joins the job's ranks as `--reduction`, `--shared-memory` and `--shared-memory-transport` say.
    func makeCommunicator() throws -> MPICommunicator {
        try MPICommunicator(reduction: reductionAlgorithm(), nodeSharedMemory: sharedMemory, transport: transport())
    }

    /// Checks the numeric options.
    func checkValues() throws(CommandFailure) {
        if !(startupTimeout > 0) { throw .usage("--startup-timeout must be positive, got \(startupTimeout)") }
        if !(stepTimeout >= 0) { throw .usage("--step-timeout must be zero or positive, got \(stepTimeout)") }
        if verifySyncEvery < 0 { throw .usage("--verify-sync-every must be zero or positive, got \(verifySyncEvery)") }
        if let threads, threads <= 0 { throw .usage("--threads must be positive, got \(threads)") }
    }

    /// Ranks MPICH started on this node.
    var localRanks: Int {
        getenv("MPI_LOCALNRANKS").flatMap { Int(String(cString: $0)) } ?? 1
    }

    /// Cores of this node.
    var cores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Threads for this rank: as given, or the node's cores ÷ the ranks MPICH started on it.
    func threadCount() throws(CommandFailure) -> Int {
        try checkValues()
        return threads ?? max(1, cores / max(1, localRanks))
    }
}
