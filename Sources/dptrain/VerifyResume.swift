// `dptrain verify-resume`: a self-test of exact resume that users can run on
// their own machine and configuration. In one process it trains N steps
// straight, then trains the same run again, stops it after step S exactly as
// a SIGTERM would (the checkpoint is written by the preemption path), resumes
// a fresh trainer from the run directory (optionally at another world size,
// ranks being threads of this process) and finishes the N steps. Prints both
// fingerprints and whether they match; exit 0 when they do, 1 when not.

import ArgumentParser
import Collective
import Datasets
import Engine
import Foundation
import Training

struct VerifyResume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-resume",
        abstract: "Check that an interrupted and resumed run ends with the weights of an uninterrupted one.",
        discussion: """
            Takes the options of `dptrain train`. Ranks are threads of this one process, so it needs no \
            mpiexec. Exits 0 when the fingerprints match, 1 when they differ.

            Example:
              dptrain verify-resume --train-limit 2560 --epochs 2 --micro-batch 32 --world-size 2 --resume-world-size 4
            """)

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Optimization") var optimization: OptimizationOptions

    @Option(help: "Steps to train (default: every step of --epochs).")
    var steps: Int?

    @Option(help: "Interrupt after this step (default: a random step before the last).")
    var interruptAt: Int?

    @Option(help: "Ranks of the straight and the interrupted run (threads of this process).")
    var worldSize = 1

    @Option(help: "Ranks of the resumed part (default: --world-size).")
    var resumeWorldSize: Int?

    @Option(help: "Worker threads per rank.")
    var threads = 1

    @Option(help: "Run directory of the interrupted run (default: a temporary one, removed afterwards).")
    var runDir: String?

    func run() throws {
        let reproduced: Bool
        do {
            reproduced = try verify()
        } catch {
            CommandFailure(error).exit()
        }
        if !reproduced { throw ExitCode(1) }
    }

    private func verify() throws -> Bool {
        let (spec, loss, initializer) = try model.resolve()
        let resumedSize = resumeWorldSize ?? worldSize
        for (name, value) in [("--world-size", worldSize), ("--resume-world-size", resumedSize), ("--threads", threads)]
        where value < 1 {
            throw CommandFailure.usage("\(name) must be positive, got \(value)")
        }
        if let steps, steps < 2 { throw CommandFailure.usage("--steps must be at least 2, got \(steps)") }
        var config = TrainingConfig(
            model: spec, loss: loss, epochs: optimization.epochs, globalBatchSize: optimization.batchSize,
            microBatchSize: try optimization.microBatchSize(worldSize: worldSize),
            optimizer: try optimization.optimizerConfig(), learningRate: optimization.learningRate,
            seed: optimization.seed, initializer: initializer, lastBatch: try optimization.lastBatchPolicy())
        try config.validate(worldSize: worldSize)
        let splits = UncheckedSendable(try data.load())

        let directory = runDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("dptrain-verify-resume-\(UUID().uuidString)").path
        defer { if runDir == nil { try? FileManager.default.removeItem(atPath: directory) } }
        _ = try Resume.decide(mode: .never, runDirectory: directory)  // refuses a directory with checkpoints

        let straight = try train(
            config, ranks: worldSize, data: splits, options: FaultOptions(preemption: steps.map { PreemptionFlag(stopAfterStep: $0) }))
        let total = straight.steps
        if let steps, total < steps {
            throw CommandFailure.usage("--steps \(steps) is more than the \(total) steps of --epochs \(config.epochs); raise --epochs")
        }
        if let interruptAt, !(1..<total).contains(interruptAt) {
            throw CommandFailure.usage("--interrupt-at must be in 1...\(total - 1), got \(interruptAt)")
        }
        let stop = interruptAt ?? Int.random(in: 1..<total)
        print(
            "dptrain verify-resume: \(spec) on \(splits.value.train.name) (\(splits.value.train.rowCount) rows), "
                + "\(optimization.optimizer) lr \(config.learningRate), batch \(config.globalBatchSize) "
                + "(micro-batch \(config.microBatchSize) × \(config.microBatchCount)), \(total) steps")
        print("straight run:     \(total) steps on \(ranks(worldSize))  sha256 \(straight.fingerprint)")
        flush()

        let plan = CheckpointPlan(runDirectory: directory)
        _ = try train(
            config, ranks: worldSize, data: splits,
            options: FaultOptions(checkpoints: plan, preemption: PreemptionFlag(stopAfterStep: stop)))
        guard let checkpoint = try Resume.decide(mode: .auto, runDirectory: directory).checkpoint else {
            throw CommandFailure.data("\(directory): the interrupted run left no checkpoint")
        }
        if optimization.microBatch == nil { config.microBatchSize = try checkpoint.recordedMicroBatchSize() }
        try config.validate(worldSize: resumedSize)
        let resumed = try train(
            config, ranks: resumedSize, data: splits,
            options: FaultOptions(checkpoints: plan, preemption: PreemptionFlag(stopAfterStep: total)), resume: checkpoint)
        let name = checkpoint.path.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "checkpoint"
        print("interrupted run:  stopped after step \(stop) on \(ranks(worldSize)), saved \(name)")
        print("resumed run:      steps \(stop + 1)-\(resumed.steps) on \(ranks(resumedSize))  sha256 \(resumed.fingerprint)")
        let same = resumed.fingerprint == straight.fingerprint && resumed.steps == total
        print("resume reproduces the run: \(same ? "yes" : "no")")
        flush()
        return same
    }

    /// Trains `config` on `count` in-process ranks until it completes or stops; rank 0's outcome.
    private func train(
        _ config: TrainingConfig, ranks count: Int, data: UncheckedSendable<(train: Dataset, test: Dataset)>,
        options: FaultOptions, resume: Checkpoint? = nil
    ) throws -> (fingerprint: String, steps: Int) {
        let threads = threads
        let outcomes = InProcessCommunicatorGroup(size: count).run { communicator in
            let pool = ThreadPool(threadCount: threads)
            defer { pool.shutdown() }
            let trainer = try Trainer(
                config: config, train: data.value.train, test: data.value.test, communicator: communicator, pool: pool)
            try trainer.configureFaultTolerance(options)
            if let resume { try trainer.restore(from: resume) }
            do throws(TrainingError) {
                let summary = try trainer.run()
                return (summary.fingerprint, summary.steps)
            } catch {
                guard case .preempted = error else { throw error }
                return (trainer.fingerprint(), trainer.stepsTaken)
            }
        }
        return try outcomes[0].get()
    }

    private func ranks(_ count: Int) -> String { count == 1 ? "1 rank" : "\(count) ranks" }
}
