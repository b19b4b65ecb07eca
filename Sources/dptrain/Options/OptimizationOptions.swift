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

    /// The optimizer's configuration.
    func optimizerConfig() throws(CommandFailure) -> OptimizerConfig {
        do { return try OptimizerConfig.named(optimizer) } catch { throw .usage(error.description) }
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
