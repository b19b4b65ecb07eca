// What a run reports besides its metrics.

import ArgumentParser
import Logging

struct OutputOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo, help: "Measure the GEMM-bound limit of the same shapes after training.")
    var gemmLimit = true

    @Option(help: "Log per-layer gradient norms, weight norms, their ratio and dead ReLU units every N steps (0: never).")
    var healthEvery = 0

    @Option(help: "Directory for gradient-health.jsonl and gradient-health.csv (with --health-every; default: --run-dir, else the current directory).")
    var healthLog: String?

    @Option(help: "Log level of the structured log on stderr: trace, debug (every step), info (every epoch), notice, warning, error, critical.")
    var logLevel = "warning"

    /// The level named by `--log-level`.
    func logLevelValue() throws(CommandFailure) -> Logger.Level {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw .usage("--log-level '\(logLevel)': valid: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return level
    }

    /// Checks the numeric options.
    func checkValues() throws(CommandFailure) {
        if healthEvery < 0 { throw .usage("--health-every must be zero or positive, got \(healthEvery)") }
    }
}
