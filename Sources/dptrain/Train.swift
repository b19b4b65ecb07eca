// `dptrain train`: trains a model and prints per-epoch metrics, the GEMM-bound
// limit of the same shapes, and the final test accuracy with the fingerprint.

import ArgumentParser
import Datasets
import Foundation
import Logging
import Collective
import Engine
import Layers
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
              # the default model, 784-256:relu-128:relu-10:softmax, on Fashion-MNIST
              dptrain train
              # the same data-parallel on 2 ranks; with --micro-batch fixed,
              # any power-of-two world size gives the same sha256
              mpiexec -n 2 dptrain train --micro-batch 32
              # XOR with a 2-4-1 network
              dptrain train --dataset xor --model 2-4:tanh-1:sigmoid \\
                --optimizer sgd --lr 0.5 --batch-size 4 --epochs 2000
            """)

    @Option(help: "A TOML file of options (keys: the long option names, optionally in [data], [model], [optimizer], [schedule], [regularization], [parallel], [output], [checkpoints] tables); flags given override it.")
    var config: String?

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Optimization") var optimization: OptimizationOptions
    @OptionGroup(title: "Learning-rate schedule") var schedule: ScheduleOptions
    @OptionGroup(title: "Regularization") var regularization: RegularizationOptions
    @OptionGroup(title: "Parallelism") var parallel: ParallelOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @OptionGroup(title: "Checkpoints and faults") var checkpoints: CheckpointOptions

    func run() throws {
        let communicator: MPICommunicator
        do {
            communicator = try parallel.makeCommunicator()
        } catch {
            CommandFailure(error).exit()
        }
        PreemptionFlag.installSignalHandlers(secondSignalExitCode: CommandFailure.preemptedExitCode)
        let box = UncheckedSendable(communicator)
        let watchdog = Watchdog(rank: communicator.rank) { code in box.value.abort(code: code) }
        defer { watchdog.stop() }
        do {
            try train(communicator, watchdog: watchdog)
            try communicator.finalize()
        } catch {
            let failure = CommandFailure(error)
            if failure.isAgreedByAllRanks {
                // Every rank stops at the same step boundary: no abort, a clean finalize.
                if communicator.rank == 0 { failure.report() }
                try? communicator.finalize()
                Glibc.exit(failure.exitCode)
            }
            if communicator.size > 1 {
                // Most failures hit every rank alike: rank 0 reports and its
                // abort ends the others. A rank that fails alone says so
                // itself once rank 0 has had time to abort.
                if communicator.rank != 0 {
                    usleep(500_000)
                    writeStandardError("dptrain: rank \(communicator.rank): error: \(failure.message)\n")
                } else {
                    failure.report()
                    // Give mpiexec a moment to pass the line on before the abort tears the job down.
                    usleep(300_000)
                }
                communicator.abort(code: failure.exitCode)
            }
            try? communicator.finalize()
            failure.exit()
        }
    }

    private func train(_ communicator: MPICommunicator, watchdog: Watchdog) throws {
        try output.checkValues()
        let level = try output.logLevelValue()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let (spec, loss, initializer) = try model.resolve()
        let optimizerConfig = try optimization.optimizerConfig()
        let threadCount = try parallel.threadCount()
        let worldSize = communicator.size
        let deterministic = communicator.reduction == .deterministic
        var config = TrainingConfig(
            model: spec, loss: loss, epochs: optimization.epochs, globalBatchSize: optimization.batchSize,
            microBatchSize: try optimization.microBatchSize(worldSize: worldSize), optimizer: optimizerConfig,
            learningRate: optimization.learningRate, seed: optimization.seed, initializer: initializer,
            lastBatch: try optimization.lastBatchPolicy())
        try regularization.apply(to: &config)
        config.standardize = data.standardize
        try config.validate(worldSize: worldSize, deterministicReduction: deterministic)
        let resumeMode = try checkpoints.checkValues()

        let (allTrain, test) = try data.load()
        let (train, validation) = try DataSource.splitValidation(allTrain, fraction: config.validationSplit, seed: config.seed)
        let batches = train.rowCount / config.globalBatchSize
            + (config.lastBatch == .keep && train.rowCount % config.globalBatchSize != 0 ? 1 : 0)
        try schedule.apply(to: &config, totalSteps: max(1, batches) * config.epochs)
        try config.validate(worldSize: worldSize, deterministicReduction: deterministic)
        let pool = ThreadPool(threadCount: threadCount)
        defer { pool.shutdown() }
        watchdog.arm("start-up checks", seconds: parallel.startupTimeout)
        let resumed = try agreeOnResume(resumeMode, communicator: communicator)
        config = try adoptingMicroBatch(of: resumed, config, worldSize: worldSize, deterministic: deterministic)
        watchdog.disarm()
        let signature = NumericsSignature.digest(config: config, pool: pool)
        if worldSize > 1 {
            watchdog.arm("start-up checks", seconds: parallel.startupTimeout)
            let identity = Preflight.identity(
                config: config, data: "\(train.name) \(train.rowCount)x\(train.featureCount), \(test.name) \(test.rowCount)")
                + [checkpoints.identity]
            let warnings = try Preflight.check(
                identity: identity, communicator: communicator, threads: threadCount,
                localRanks: parallel.localRanks, cores: parallel.cores)
                + Preflight.numericsWarnings(signature: signature, communicator: communicator)
            watchdog.disarm()
            if communicator.rank == 0 { for warning in warnings { writeStandardError("dptrain: \(warning)\n") } }
        }
        let trainer = try Trainer(
            config: config, train: train, test: test, validation: validation, communicator: communicator, pool: pool,
            options: RunOptions(
                verifySyncEvery: parallel.verifySyncEvery, stepTimeout: parallel.stepTimeout, healthEvery: output.healthEvery),
            watchdog: watchdog, deterministicReduction: deterministic)
        trainer.numericsSignature = signature
        let isRoot = communicator.rank == 0
        trainer.logger.logLevel = level
        if isRoot {
            print(
                "dptrain: \(spec) on \(train.name) (\(train.rowCount) train / \(test.rowCount) test rows), "
                    + "loss \(config.loss.name), \(optimization.optimizer) lr \(config.learningRate), "
                    + "batch \(config.globalBatchSize) (micro-batch \(config.microBatchSize) × \(config.microBatchCount)), "
                    + "\(worldSize) rank\(worldSize == 1 ? "" : "s") × \(threadCount) thread\(threadCount == 1 ? "" : "s")"
                    + (worldSize > 1 ? (trainer.usesNodeSharedMemory ? " (sums in shared memory)" : " (sums by messages)") : "")
                    + ", \(trainer.network.parameterCount) parameters, seed \(config.seed)")
            flush()
        }
        try prepare(trainer, resumingFrom: resumed, isRoot: isRoot)
        var outputs: RunOutputs?
        if isRoot, let runDirectory = checkpoints.runDir {
            let resolved = ConfigFile.resolvedText(
                of: self, header: "dptrain train: the options of this run\nrerun: dptrain train --config config.toml")
            do throws(ConfigFileError) { try ConfigFile.write(resolved, to: runDirectory + "/config.toml") } catch {
                throw CommandFailure.data(error.description)
            }
            if self.config != nil { print(resolved, terminator: "") }
            outputs = try RunOutputs(
                directory: runDirectory, title: "dptrain: \(spec) on \(train.name)",
                facts: [
                    .init("model", spec.description), .init("loss", config.loss.name),
                    .init("optimizer", "\(optimization.optimizer), lr \(config.learningRate)"),
                    .init("batch", "\(config.globalBatchSize) (micro-batch \(config.microBatchSize))"),
                    .init("ranks × threads", "\(worldSize) × \(threadCount)"), .init("seed", "\(config.seed)"),
                ],
                classNames: data.dataset == "fashion-mnist" ? FashionMNIST.classNames : nil)
        }
        if output.healthEvery > 0 && isRoot {
            let log = try HealthLog(directory: output.healthLog ?? checkpoints.runDir ?? ".")
            trainer.healthObserver = { report in
                log.write(report)
                outputs?.health(report)
            }
        }
        let progress = isRoot ? ProgressView(epochs: config.epochs, stepsPerEpoch: trainer.stepsPerEpoch) : nil
        if let progress {
            var lastEpoch = 0
            var started = Date()
            trainer.stepObserver = { epoch, step, loss, accuracy, learningRate in
                if epoch != lastEpoch {
                    lastEpoch = epoch
                    started = Date()
                }
                let seconds = max(Date().timeIntervalSince(started), 1e-9)
                progress.step(
                    epoch: epoch, step: step, loss: loss, accuracy: accuracy,
                    samplesPerSecond: Double(step * config.globalBatchSize) / seconds, learningRate: Double(learningRate))
            }
        }
        var totalSamples = 0.0
        var totalSeconds = 0.0
        let samplesPerEpoch = Double(trainer.stepsPerEpoch * config.globalBatchSize)
        let summary = try trainer.run { report in
            totalSamples += samplesPerEpoch
            totalSeconds += samplesPerEpoch / report.samplesPerSecond
            progress?.epochEnd(line: EpochLine(report, secondsSinceLaunch: Benchmark.processAge()).text)
            outputs?.epoch(report, step: report.epoch * trainer.stepsPerEpoch)
            flush()
        }
        if output.gemmLimit {
            let limit = GemmBound.samplesPerSecond(
                network: trainer.network, microBatchSize: config.microBatchSize,
                microBatches: config.microBatchCount / worldSize, globalBatchSize: config.globalBatchSize, pool: pool)
            if isRoot {
                let achieved = totalSamples / max(totalSeconds, 1e-9)
                print(
                    "throughput \(Int(achieved.rounded())) samples/s; GEMM-bound limit \(Int(limit.rounded())) samples/s "
                        + "for the same shapes and threads (\(fixed(achieved / limit, 2)) of the limit)")
            }
        }
        outputs?.finish(fingerprint: summary.fingerprint, classification: isRoot ? trainer.classificationMetrics() : nil)
        if isRoot, let restored = summary.restoredEpoch {
            print("early stopping restored the weights of epoch \(restored)")
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
}
