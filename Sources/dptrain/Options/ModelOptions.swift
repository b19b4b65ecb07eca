// `--model`, `--loss`, `--init`: what network is trained and on which loss.

import ArgumentParser
import Engine
import Layers
import Training

struct ModelOptions: ParsableArguments {
    @Option(help: "Model spec: INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD (head: softmax, sigmoid or linear).")
    var model = "784-256:relu-128:relu-10:softmax"

    @Option(help: "Loss: \(Loss.allNames.joined(separator: ", ")) (default: from the head).")
    var loss: String?

    @Option(name: .customLong("init"), help: "Weight initialiser: \(Initializer.names.joined(separator: ", ")) (default: He for ReLU-like layers, Xavier otherwise).")
    var initializer: String?

    /// The parsed spec, loss and initialiser.
    func resolve() throws(CommandFailure) -> (spec: ModelSpec, loss: Loss?, initializer: Initializer?) {
        let spec: ModelSpec
        do { spec = try ModelSpec(parsing: model) } catch { throw .usage(error.description) }
        var chosenLoss: Loss?
        if let loss {
            guard let parsed = Loss(name: loss) else {
                throw .usage("unknown loss '\(loss)'; valid: \(Loss.allNames.joined(separator: ", "))")
            }
            chosenLoss = parsed
        }
        var chosenInitializer: Initializer?
        if let initializer {
            guard let parsed = Initializer(name: initializer) else {
                throw .usage("unknown initialiser '\(initializer)'; valid: \(Initializer.names.joined(separator: ", "))")
            }
            chosenInitializer = parsed
        }
        return (spec, chosenLoss, chosenInitializer)
    }
}
