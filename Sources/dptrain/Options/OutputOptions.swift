// What a run reports besides its metrics.

import ArgumentParser

struct OutputOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo, help: "Measure the GEMM-bound limit of the same shapes after training.")
    var gemmLimit = true

    @Option(help: "Log per-layer gradient norms, weight norms, their ratio and dead ReLU units every N steps (0: never).")
    var healthEvery = 0

    @Option(help: "Directory for gradient-health.jsonl and gradient-health.csv (with --health-every).")
    var healthLog = "."

    /// Checks the numeric options.
    func checkValues() throws(CommandFailure) {
        if healthEvery < 0 { throw .usage("--health-every must be zero or positive, got \(healthEvery)") }
    }
}
