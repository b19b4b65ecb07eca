// `dptrain train`: trains a model and prints per-epoch metrics, the GEMM-bound
// limit of the same shapes, and the final test accuracy with the fingerprint.

import ArgumentParser
import Collective
import Engine
import Layers
import Optimizers
import Training

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model (single process, or data-parallel under mpiexec).",
        discussion: """
            Examples:
              dptrain train                                   # 784-256:relu-128:relu-10:softmax on Fashion-MNIST
              mpiexec -n 2 dptrain train --threads 1          # the same run on 2 ranks: same final sha256
              dptrain train --dataset xor --model 2-4:tanh-1:sigmoid --optimizer sgd --lr 0.5 --batch-size 4 --epochs 2000
            """)

    @Option(help: "fashion-mnist, xor, a directory of IDX files, or a .csv file.")
    var dataset = "fashion-mnist"

    @Option(help: "CSV file of the test split (for a .csv --dataset; default: the training file).")
    var testData: String?

    @Option(help: "Model spec: INPUT-WIDTH:ACTIVATION-...-WIDTH:HEAD (head: softmax, sigmoid or linear).")
    var model = "784-256:relu-128:relu-10:softmax"

    @Option(help: "Loss: \(Loss.allNames.joined(separator: ", ")) (default: from the head).")
    var loss: String?

    @Option(name: .customLong("init"), help: "Weight initialiser: \(Initializer.names.joined(separator: ", ")) (default: He for ReLU-like layers, Xavier otherwise).")
    var initializer: String?

    @Option(help: "Passes over the training set.")
    var epochs = 10

    @Option(help: "Global batch size B (rows per optimizer step over all ranks).")
    var batchSize = 128

    @Option(help: "Micro-batch size m (rows per GEMM call; B must be a multiple). Default: B / world size.")
    var microBatch: Int?

    @Option(help: "Optimizer: sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad.")
    var optimizer = "adam"

    @Option(name: [.customLong("lr"), .customLong("learning-rate")], help: "Learning rate.")
    var learningRate: Float = 1e-3

    @Option(help: "Worker threads per rank (default: cores ÷ ranks on this node).")
    var threads: Int?

    @Option(help: "Seed of every random draw (initialisation, shuffles).")
    var seed: UInt64 = 1

    @Option(help: "Use only the first N training rows.")
    var trainLimit: Int?

    @Option(help: "Use only the first N test rows.")
    var testLimit: Int?

    @Option(help: "Gradient reduction across ranks: deterministic (bitwise, any power-of-two world size) or mpi (MPI_Allreduce).")
    var reduction = "deterministic"

    @Flag(inversion: .prefixedNo, help: "Measure the GEMM-bound limit of the same shapes after training.")
    var gemmLimit = true

    func run() throws {
        let communicator: MPICommunicator
        do {
            guard let algorithm = ReductionAlgorithm(rawValue: reduction) else {
                throw CommandFailure.usage("--reduction '\(reduction)': valid: deterministic, mpi")
            }
            communicator = try MPICommunicator(reduction: algorithm)
        } catch let failure as CommandFailure {
            failure.exit()
        } catch {
            CommandFailure.communication("\(error)").exit()
        }
        do {
            try train(communicator)
            try communicator.finalize()
        } catch {
            let failure = CommandFailure(error)
            if communicator.size > 1 {
                if communicator.rank == 0 { failure.report() }
                communicator.abort(code: failure.exitCode)
            }
            try? communicator.finalize()
            failure.exit()
        }
    }

    private func train(_ communicator: MPICommunicator) throws {
        let spec: ModelSpec
        do { spec = try ModelSpec(parsing: model) } catch { throw CommandFailure.usage(error.description) }
        var chosenLoss: Loss?
        if let loss {
            guard let parsed = Loss(name: loss) else {
                throw CommandFailure.usage("unknown loss '\(loss)'; valid: \(Loss.allNames.joined(separator: ", "))")
            }
            chosenLoss = parsed
        }
        var chosenInitializer: Initializer?
        if let initializer {
            guard let parsed = Initializer(name: initializer) else {
                throw CommandFailure.usage("unknown initialiser '\(initializer)'; valid: \(Initializer.names.joined(separator: ", "))")
            }
            chosenInitializer = parsed
        }
        let optimizerConfig: OptimizerConfig
        do { optimizerConfig = try OptimizerConfig.named(optimizer) } catch { throw CommandFailure.usage(error.description) }
        if let threads, threads <= 0 { throw CommandFailure.usage("--threads must be positive, got \(threads)") }
        if batchSize <= 0 { throw CommandFailure.usage("--batch-size must be positive, got \(batchSize)") }
        if let microBatch, microBatch <= 0 { throw CommandFailure.usage("--micro-batch must be positive, got \(microBatch)") }

        let worldSize = communicator.size
        let config = TrainingConfig(
            model: spec, loss: chosenLoss, epochs: epochs, globalBatchSize: batchSize,
            microBatchSize: microBatch ?? max(1, batchSize / worldSize), optimizer: optimizerConfig,
            learningRate: learningRate, seed: seed, initializer: chosenInitializer)
        try config.validate(worldSize: worldSize)

        let (train, test) = try DataSource.load(dataset, testData: testData, trainLimit: trainLimit, testLimit: testLimit)
        let threadCount = threads ?? Self.defaultThreads()
        let pool = ThreadPool(threadCount: threadCount)
        defer { pool.shutdown() }
        let trainer = try Trainer(config: config, train: train, test: test, communicator: communicator, pool: pool)
        let isRoot = communicator.rank == 0
        if isRoot {
            print(
                "dptrain: \(spec) on \(train.name) (\(train.rowCount) train / \(test.rowCount) test rows), "
                    + "loss \(config.loss.name), \(optimizer) lr \(learningRate), batch \(batchSize) "
                    + "(micro-batch \(config.microBatchSize) × \(config.microBatchCount)), "
                    + "\(worldSize) rank\(worldSize == 1 ? "" : "s") × \(threadCount) thread\(threadCount == 1 ? "" : "s"), "
                    + "\(trainer.network.parameterCount) parameters, seed \(seed)")
            flush()
        }
        var totalSamples = 0.0
        var totalSeconds = 0.0
        let summary = try trainer.run { report in
            totalSamples += Double(trainer.stepsPerEpoch * batchSize)
            totalSeconds += Double(trainer.stepsPerEpoch * batchSize) / report.samplesPerSecond
            var line = "epoch \(report.epoch)/\(report.epochs)  train loss \(fixed(report.trainLoss, 4))"
            if let accuracy = report.trainAccuracy { line += " acc \(percent(accuracy))" }
            line += "  test loss \(fixed(report.testLoss, 4))"
            if let accuracy = report.testAccuracy { line += " acc \(percent(accuracy))" }
            line += "  \(Int(report.samplesPerSecond.rounded())) samples/s"
            print(line)
            flush()
        }
        if gemmLimit {
            let limit = GemmBound.samplesPerSecond(
                network: trainer.network, microBatchSize: config.microBatchSize,
                microBatches: config.microBatchCount / worldSize, globalBatchSize: batchSize, pool: pool)
            if isRoot {
                let achieved = totalSamples / max(totalSeconds, 1e-9)
                print(
                    "throughput \(Int(achieved.rounded())) samples/s; GEMM-bound limit \(Int(limit.rounded())) samples/s "
                        + "for the same shapes and threads (\(fixed(achieved / limit, 2)) of the limit)")
            }
        }
        if isRoot {
            if let accuracy = summary.final.testAccuracy {
                print("test accuracy \(percent(accuracy))  sha256 \(summary.fingerprint)")
            } else {
                print("test loss \(fixed(summary.final.testLoss, 6))  sha256 \(summary.fingerprint)")
            }
            flush()
        }
    }

    /// Cores of this machine divided by the ranks MPICH started on it.
    static func defaultThreads() -> Int {
        let cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let localRanks = getenv("MPI_LOCALNRANKS").flatMap { Int(String(cString: $0)) } ?? 1
        return max(1, cores / max(1, localRanks))
    }
}

func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

func percent(_ fraction: Double) -> String { fixed(fraction * 100, 2) + "%" }

func flush() { fflush(nil) }
