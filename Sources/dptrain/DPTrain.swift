// The dptrain command-line tool.

import ArgumentParser

@main
struct DPTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dptrain",
        abstract: "Data-parallel training of feedforward networks on CPU clusters.",
        discussion: """
            One binary serves a single-process debug run (no mpiexec: a world of one) and a \
            cluster job (mpiexec -n P dptrain train ...). Weights are bitwise identical for any \
            thread count and any power-of-two world size dividing the micro-batch count.
            """,
        subcommands: [Train.self, Bench.self, Inspect.self, VerifyResume.self],
        defaultSubcommand: nil
    )
}
