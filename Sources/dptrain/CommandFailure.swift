// Maps every failure to a one-line message on stderr and a documented exit code.
//
//   64  bad option or model spec (EX_USAGE)
//   65  data does not fit the model or loss, or a malformed data file (EX_DATAERR)
//   66  a data file is missing (EX_NOINPUT)
//   69  MPI / communication failure (EX_UNAVAILABLE)

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
            }
        case let error as CollectiveError:
            self = .communication(error.description)
        default:
            self = .data("\(error)")
        }
    }

    var message: String {
        switch self {
        case .usage(let text), .data(let text), .missingInput(let text), .communication(let text): return text
        }
    }

    var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .data: return 65
        case .missingInput: return 66
        case .communication: return 69
        }
    }

    func report() {
        writeStandardError("dptrain: error: \(message)\n")
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
