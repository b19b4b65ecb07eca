// `--epochs`, `--batch-size`, `--optimizer`, `--lr`, ...: how the weights are updated.

import ArgumentParser
import Optimizers
import Training

struct OptimizationOptions: ParsableArguments {
    @Option(help: "Passes over the training set.")
    var epochs = 10

    @Option(help: "Global batch size B (rows per optimizer step over all ranks).")
    var batchSize = 128

    @Option(help: "Micro-batch size m (rows per GEMM call; B must be a multiple). Default: B / world size.")
    var microBatch: Int?

    @Option(help: "Optimizer: \(OptimizerConfig.validNames.joined(separator: ", ")).")
    var optimizer = "adam"

    @Option(help: "Momentum μ (sgd, momentum, nesterov, rmsprop).")
    var momentum: Float?

    @Option(help: "Adam/AdamW β1.")
    var beta1: Float?

    @Option(help: "Adam/AdamW β2.")
    var beta2: Float?

    @Option(help: "ε of Adam, AdamW, RMSprop, AdaGrad.")
    var epsilon: Float?

    @Option(help: "RMSprop smoothing constant α.")
    var alpha: Float?

    @Flag(help: "Adam/AdamW: use the AMSGrad variant.")
    var amsgrad = false

    @Option(name: [.customLong("lr"), .customLong("learning-rate")], help: "Learning rate.")
    var learningRate: Float = 1e-3

    @Option(help: "Seed of every random draw (initialisation, shuffles).")
    var seed: UInt64 = 1

    @Option(help: "The last partial batch of an epoch: drop, or keep (one smaller step, missing rows masked).")
    var lastBatch = "drop"

    /// The policy named by `--last-batch`.
    func lastBatchPolicy() throws(CommandFailure) -> LastBatchPolicy {
        guard let policy = LastBatchPolicy(rawValue: lastBatch) else {
            throw .usage("--last-batch '\(lastBatch)': valid: drop, keep")
        }
        return policy
    }

    /// The named optimizer with PyTorch's defaults, overridden by the options given.
    func optimizerConfig() throws(CommandFailure) -> OptimizerConfig {
        for (option, value) in [("--beta1", beta1), ("--beta2", beta2), ("--alpha", alpha)] {
            if let value, !(value >= 0 && value < 1) { throw .usage("\(option) must be in [0, 1), got \(value)") }
        }
        if let momentum { try nonNegative("--momentum", Double(momentum)) }
        if let epsilon { try positive("--epsilon", Double(epsilon)) }
        var config: OptimizerConfig
        do { config = try OptimizerConfig.named(optimizer) } catch { throw .usage(error.description) }
        let name = optimizer.lowercased()
        func refuse(_ option: String) -> CommandFailure { .usage("\(option) does not apply to --optimizer \(name)") }
        switch config {
        case .sgd(let mu, let nesterov):
            if beta1 != nil { throw refuse("--beta1") }
            if beta2 != nil { throw refuse("--beta2") }
            if epsilon != nil { throw refuse("--epsilon") }
            if alpha != nil { throw refuse("--alpha") }
            if amsgrad { throw refuse("--amsgrad") }
            config = .sgd(momentum: momentum ?? mu, nesterov: nesterov)
        case .adam(let b1, let b2, let eps, let ams):
            if momentum != nil { throw refuse("--momentum") }
            if alpha != nil { throw refuse("--alpha") }
            config = .adam(beta1: beta1 ?? b1, beta2: beta2 ?? b2, epsilon: epsilon ?? eps, amsgrad: amsgrad || ams)
        case .adamW(let b1, let b2, let eps, let decay, let ams):
            if momentum != nil { throw refuse("--momentum") }
            if alpha != nil { throw refuse("--alpha") }
            config = .adamW(beta1: beta1 ?? b1, beta2: beta2 ?? b2, epsilon: epsilon ?? eps, weightDecay: decay, amsgrad: amsgrad || ams)
        case .rmsprop(let a, let eps, let mu):
            if beta1 != nil { throw refuse("--beta1") }
            if beta2 != nil { throw refuse("--beta2") }
            if amsgrad { throw refuse("--amsgrad") }
            config = .rmsprop(alpha: alpha ?? a, epsilon: epsilon ?? eps, momentum: momentum ?? mu)
        case .adagrad(let eps, let initial):
            if beta1 != nil { throw refuse("--beta1") }
            if beta2 != nil { throw refuse("--beta2") }
            if momentum != nil { throw refuse("--momentum") }
            if alpha != nil { throw refuse("--alpha") }
            if amsgrad { throw refuse("--amsgrad") }
            config = .adagrad(epsilon: epsilon ?? eps, initialAccumulator: initial)
        }
        do { try config.validate() } catch { throw .usage(error.description) }
        return config
    }

    /// The micro-batch size: as given, or B ÷ world size at a run's first launch (DESIGN.md 2).
    func microBatchSize(worldSize: Int) throws(CommandFailure) -> Int {
        if batchSize <= 0 { throw .usage("--batch-size must be positive, got \(batchSize)") }
        if let microBatch {
            if microBatch <= 0 { throw .usage("--micro-batch must be positive, got \(microBatch)") }
            return microBatch
        }
        return max(1, batchSize / worldSize)
    }
}
