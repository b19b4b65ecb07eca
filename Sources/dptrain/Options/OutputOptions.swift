// What a run reports besides its metrics.

import ArgumentParser

struct OutputOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo, help: "Measure the GEMM-bound limit of the same shapes after training.")
    var gemmLimit = true
}
