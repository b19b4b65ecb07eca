// The numerics signature: how this machine computes the model's gradient,
// bit for bit. oneDNN picks its kernels by instruction set and CPU, the C
// library its exp by CPU, and kernels that differ round differently
// (DESIGN.md 3: the contract holds on one machine type and library build).
// Ranks on machines of different types would still agree on every update
// (they apply the same reduced gradient), but each rank's share of it would
// carry its own machine's rounding: the weights would depend on which rank
// ran where, and no run elsewhere would repeat them. Preflight compares the
// signature of every rank with rank 0's and warns when one differs.

import Collective
import Engine
import Layers

public enum NumericsSignature {
    /// Hex SHA-256 of the loss and the parameters' gradient of one micro-batch
    /// of `config`'s model and loss, from parameters and rows drawn from a
    /// fixed seed: the same on every machine whose kernels round alike, for
    /// any thread count.
    public static func digest(config: TrainingConfig, pool: ThreadPool) -> String {
        let spec = config.model
        let network = Network(spec)
        let rng = CounterRNG(seed: 0x6470_7472_6169_6E73)
        let parameters = FloatBuffer(count: network.parameterCount)
        // The layers' default initializers: never all zeros, so every product rounds.
        network.initialize(parameters, rng: rng)
        let m = config.microBatchSize
        let width = spec.inputWidth
        let outputs = spec.outputWidth
        let input = FloatBuffer(count: m * width)
        for i in 0..<input.count {
            input.pointer[i] = 2 * rng.uniform(.syntheticData, stream: 0, index: UInt64(i)) - 1
        }
        let x = Matrix(input, rows: m, columns: width)
        let workspace = Workspace(network: network, rows: m)
        let statistics = FloatBuffer(count: network.statisticsCount)
        let logits = network.forward(
            x, parameters: parameters, workspace: workspace, pool: pool,
            key: MicroBatchKey(rng: rng, epoch: 0, firstPosition: 0),
            batchStatistics: statistics.count > 0
                ? UnsafeMutableBufferPointer(start: statistics.pointer, count: statistics.count) : nil)
        let outputGradient = FloatBuffer(count: m * outputs)
        let rowLoss = FloatBuffer(count: m)
        let rowCorrect = FloatBuffer(count: m)
        let gradients = FloatBuffer(count: network.parameterCount)
        let evaluate = { (targets: LossTargets) in
            config.loss.evaluate(
                logits: logits, targets: targets, scale: 1 / Float(m),
                gradient: Matrix(outputGradient, rows: m, columns: outputs), rowLoss: rowLoss.pointer,
                rowCorrect: rowCorrect.pointer, pool: pool)
        }
        if config.loss.usesClassLabels {
            let labels = (0..<m).map { Int32(rng.integer(below: outputs, .syntheticData, stream: 1, index: UInt64($0))) }
            labels.withUnsafeBufferPointer { labels in
                if let base = labels.baseAddress { evaluate(.labels(base)) }
            }
        } else {
            let targets = FloatBuffer(count: m * outputs)
            for i in 0..<targets.count {
                targets.pointer[i] = rng.uniform(.syntheticData, stream: 2, index: UInt64(i))
            }
            evaluate(.values(Matrix(targets, rows: m, columns: outputs)))
        }
        network.backward(
            x, outputGradient: Matrix(outputGradient, rows: m, columns: outputs), parameters: parameters,
            gradients: gradients, accumulate: false, workspace: workspace, pool: pool)
        var hasher = SHA256()
        rowLoss.withUnsafeBytes { hasher.update($0) }
        gradients.withUnsafeBytes { hasher.update($0) }
        return hasher.finalizeHex()
    }
}
