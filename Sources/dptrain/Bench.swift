// `dptrain bench`: throughput against the GEMM-bound limit of the same run.

import ArgumentParser
import Collective
import Engine
import Foundation
import Layers
import Optimizers
import Training

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training throughput against the GEMM-bound limit of the same shapes.",
        discussion: """
            Trains a fixed number of steps on synthetic data, then measures what dnnl_sgemm alone \
            needs for exactly the matrix products of one step (same tiles, threads and micro-batches) \
            and prints samples/s, the limit, their ratio, the time split of a step, the peak memory \
            and the start-up time.

            Examples:
              # 784-1024:relu-1024:relu-10:softmax, B 256, m 64, Adam
              dptrain bench
              mpiexec -n 2 dptrain bench --threads 1
              dptrain bench --model 784-128:relu-10:softmax --batch-size 64 --micro-batch 64 --json
            """)

    @Option(help: "Model spec.")
    var model = "784-1024:relu-1024:relu-10:softmax"

    @Option(help: "Global batch size B.")
    var batchSize = 256

    @Option(help: "Micro-batch size m.")
    var microBatch = 64

    @Option(help: "Optimizer.")
    var optimizer = "adam"

    @Option(help: "Timed steps.")
    var steps = 50

    @Option(help: "Untimed steps first.")
    var warmup = 5

    @OptionGroup(title: "Parallelism") var parallel: ParallelOptions

    @Flag(help: """
        Diagnostic: skip the gradient and parameter sums across ranks (each rank trains apart, so the \
        numbers are wrong), to time the step without any reduction against the same limit.
        """)
    var skipSums = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let communicator: MPICommunicator
        do { communicator = try parallel.makeCommunicator() } catch {
            CommandFailure(error).exit()
        }
        do {
            let report = try measure(communicator)
            if communicator.rank == 0 { print(json ? Self.json(report) : Self.text(report)) }
            try communicator.finalize()
        } catch {
            let failure = CommandFailure(error)
            if communicator.size > 1 { failure.report(); communicator.abort(code: failure.exitCode) }
            failure.exit()
        }
    }

    private func measure(_ communicator: MPICommunicator) throws -> BenchmarkReport {
        let spec: ModelSpec
        do { spec = try ModelSpec(parsing: model) } catch { throw CommandFailure.usage(error.description) }
        let optimizerConfig: OptimizerConfigValue = try OptimizerConfigValue(optimizer)
        if steps < 1 { throw CommandFailure.usage("--steps must be at least 1, got \(steps)") }
        if warmup < 0 { throw CommandFailure.usage("--warmup must be zero or positive, got \(warmup)") }
        let config = TrainingConfig(
            model: spec, epochs: 1, globalBatchSize: batchSize, microBatchSize: microBatch,
            optimizer: optimizerConfig.value, learningRate: 1e-3, seed: 1)
        try config.validate(worldSize: communicator.size, deterministicReduction: communicator.reduction == .deterministic)
        let pool = ThreadPool(threadCount: try parallel.threadCount())
        defer { pool.shutdown() }
        return try Benchmark.run(
            config: config, warmup: warmup, steps: steps, communicator: communicator, pool: pool, skipSums: skipSums)
    }

    static func text(_ report: BenchmarkReport) -> String {
        let milliseconds = { (key: String) in fixed((report.split[key] ?? 0) * 1000, 3) }
        return """
            bench \(report.model)  B \(report.globalBatchSize)  m \(report.microBatchSize)  \
            \(report.ranks) rank\(report.ranks == 1 ? "" : "s") × \(report.threads) thread\(report.threads == 1 ? "" : "s")  \(report.steps) steps\
            \(report.ranks > 1 ? "  " + sums(report) : "")
            samples/s \(Int(report.medianStepSamplesPerSecond.rounded())) (median step; \
            \(Int(report.samplesPerSecond.rounded())) over the run)  \
            GEMM-bound limit \(Int(report.limitSamplesPerSecond.rounded())) (median; best \
            \(Int(report.bestLimitSamplesPerSecond.rounded())))  ratio \(fixed(report.ratio, 3))
            per step (ms, rank 0): forward GEMM \(milliseconds("forward_gemm"))  backward GEMM \(milliseconds("backward_gemm"))  \
            GEMM slowdown in steps \(milliseconds("gemm_slowdown"))  elementwise \(milliseconds("elementwise"))  optimizer \(milliseconds("optimizer"))  \
            reduction \(milliseconds("reduction"))  waiting \(milliseconds("waiting"))
            memory (MiB): \(report.memory.parameterBuffers) parameter buffers × \(mebibytes(report.memory.bytesPerParameterBuffer))  \
            activations \(mebibytes(report.memory.activationBytes))  data \(mebibytes(report.memory.dataBytes))  \
            GEMM probe \(mebibytes(report.probeBytes))  sum \(mebibytes(report.memory.totalBytes + report.probeBytes))
            peak RSS \(mebibytes(report.peakResidentBytes)) MiB  start-up \(fixed(report.startupSeconds, 3)) s
            host \(report.cpu)  oneDNN \(report.gemmInstructionSet)  kernels \(report.kernelLanes) lanes
            """
    }

    private static func mebibytes(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576, 1) }

    /// How the ranks summed, for the title line.
    private static func sums(_ report: BenchmarkReport) -> String {
        if report.sumsSkipped { return "sums skipped (diagnostic: the ranks train apart)" }
        return report.nodeSharedMemory ? "sums in shared memory" : "sums by messages"
    }

    static func json(_ report: BenchmarkReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// An optimizer named on the command line.
struct OptimizerConfigValue {
    let value: OptimizerConfig
    init(_ name: String) throws(CommandFailure) {
        do { value = try OptimizerConfig.named(name) } catch { throw .usage(error.description) }
    }
}
