// `--threads`, `--reduction`: how a rank uses its cores and how ranks combine gradients.

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

    @Option(help: "Gradient reduction across ranks: deterministic (bitwise, any power-of-two world size) or mpi (MPI_Allreduce).")
    var reduction = "deterministic"

    /// The reduction algorithm named by `--reduction`.
    func reductionAlgorithm() throws(CommandFailure) -> ReductionAlgorithm {
        guard let algorithm = ReductionAlgorithm(rawValue: reduction) else {
            throw .usage("--reduction '\(reduction)': valid: deterministic, mpi")
        }
        return algorithm
    }

    /// Threads for this rank: as given, or the node's cores ÷ the ranks MPICH started on it.
    func threadCount() throws(CommandFailure) -> Int {
        if let threads {
            if threads <= 0 { throw .usage("--threads must be positive, got \(threads)") }
            return threads
        }
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let localRanks = getenv("MPI_LOCALNRANKS").flatMap { Int(String(cString: $0)) } ?? 1
        return max(1, cores / max(1, localRanks))
    }
}
