// Maps every failure to a one-line message on stderr and a documented exit code.
//
//   64  bad option or model spec (EX_USAGE)
//   65  data does not fit the model or loss, or a malformed data file (EX_DATAERR)
//   66  a data file is missing (EX_NOINPUT)
//   69  MPI / communication failure (EX_UNAVAILABLE)
//   70  the watchdog ended a stalled job (Watchdog.exitCode)
//   73  a checkpoint or run-directory file cannot be written (EX_CANTCREAT)
//   75  preempted: stopped on SIGTERM/SIGINT after saving a checkpoint; resumable (EX_TEMPFAIL)
//   76  the loss or gradient became NaN/Inf under --nan stop; resuming would repeat it
//
// A damaged or mismatched checkpoint to resume from is 65 (66 when a --resume file is missing).

import Collective
import Datasets
import Training

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum CommandFailure: Error {
    case usage(String)
    case data(String)
    case missingInput(String)
    case communication(String)
    case cannotWrite(String)
    case preempted(String)
    case diverged(String)

    init(_ error: any Error) {
        switch error {
        case let failure as CommandFailure:
            self = failure
        case let error as TrainingError:
            switch error {
            case .invalidOption(let message): self = .usage(message)
            case .dataMismatch(let message): self = .data(message)
            case .missingData(let message): self = .missingInput(message)
            case .dataset(let message): self = .data(message)
            case .communication(let message): self = .communication(message)
            case .checkpoint(let message): self = .data(message)
            case .checkpointWrite(let message): self = .cannotWrite(message)
            case .preempted(let message): self = .preempted(message)
            case .nonFinite(let message): self = .diverged(message)
            }
        case let error as CollectiveError:
            self = .communication(error.description)
        default:
            self = .data("\(error)")
        }
    }

    var message: String {
        switch self {
        case .usage(let text), .data(let text), .missingInput(let text), .communication(let text),
             .cannotWrite(let text), .preempted(let text), .diverged(let text):
            return text
        }
    }

    var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .data: return 65
        case .missingInput: return 66
        case .communication: return 69
        case .cannotWrite: return 73
        case .preempted: return 75
        case .diverged: return 76
        }
    }

    /// Exit code of a run stopped by a signal after saving its checkpoint.
    static let preemptedExitCode: Int32 = 75

    /// Whether every rank of a job reaches this failure at the same step boundary (DESIGN.md 4),
    /// so the ranks can finalize MPI and exit together instead of aborting the job.
    var isAgreedByAllRanks: Bool {
        switch self {
        case .cannotWrite, .preempted, .diverged: return true
        case .usage, .data, .missingInput, .communication: return false
        }
    }

    func report() {
        if case .preempted = self {
            writeStandardError("dptrain: \(message)\n")
        } else {
            writeStandardError("dptrain: error: \(message)\n")
        }
    }

    func exit() -> Never {
        report()
        Glibc.exit(exitCode)
    }
}

/// Writes `text` to file descriptor 2 unbuffered.
func writeStandardError(_ text: String) {
    fflush(nil)
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
