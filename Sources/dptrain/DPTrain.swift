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
        subcommands: [Train.self, Bench.self, Inspect.self, Evaluate.self, Export.self, Predict.self, VerifyResume.self],
        defaultSubcommand: nil
    )

    /// Expands `train --config FILE.toml` into flags before the user's own
    /// (the last occurrence of an option wins), then runs the command.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "train" {
            do {
                arguments = ["train"] + (try ConfigFile.expand(
                    arguments: Array(arguments.dropFirst()), knownOptions: OptionInfo.options(of: Train.self)))
            } catch {
                CommandFailure.usage(error.description).exit()
            }
        }
        main(arguments)
    }
}
