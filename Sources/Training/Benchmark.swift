// Benchmark: trains a fixed number of steps on synthetic data and sets the
// throughput beside the GEMM-bound limit measured in the same process
// (DESIGN.md, performance yardsticks), with the time split of a step, the
// peak memory and the start-up time.

import Collective
import Datasets
import Engine
import Foundation
import Layers

/// What `dptrain bench` reports (per rank 0; times are seconds per step).
public struct BenchmarkReport: Codable, Sendable {
    public var model: String
    public var globalBatchSize: Int
    public var microBatchSize: Int
    public var ranks: Int
    public var threads: Int
    public var steps: Int
    public var samplesPerSecond: Double
    public var limitSamplesPerSecond: Double
    public var ratio: Double
    /// Seconds per step: forward GEMM, backward GEMM (from the limit measurement),
    /// elementwise (everything else in forward, loss and backward, and gathering
    /// rows), optimizer, reduction (tree sums and driving messages), waiting.
    public var split: [String: Double]
    public var peakResidentBytes: Int
    /// From process start to the first step, without building the data.
    public var startupSeconds: Double
}

public enum Benchmark {
    /// `rows` rows of `features` uniform features and labels in 0..<classes, from the seed.
    public static func syntheticDataset(rows: Int, features: Int, classes: Int, seed: UInt64) -> Dataset {
        let rng = CounterRNG(seed: seed)
        let values = FloatBuffer(count: rows * features)
        for i in 0..<(rows * features) {
            values.pointer[i] = rng.uniform(.syntheticData, stream: 0, index: UInt64(i))
        }
        let labels = (0..<rows).map { Int32(rng.integer(below: classes, .syntheticData, stream: 1, index: UInt64($0))) }
        return Dataset(name: "synthetic", featureCount: features, features: values,
                       targets: .classes(labels: labels, classCount: classes))
    }

    /// Runs the benchmark; `dataSeconds` is the time spent building the data, left out of start-up.
    public static func run(
        config: TrainingConfig, warmup: Int, steps: Int, communicator: any Communicator, pool: ThreadPool
    ) throws(TrainingError) -> BenchmarkReport {
        let spec = config.model
        let dataStart = ContinuousClock.now
        let rows = (warmup + steps) * config.globalBatchSize
        let train = syntheticDataset(rows: rows, features: spec.inputWidth, classes: spec.outputWidth, seed: config.seed)
        let test = syntheticDataset(rows: config.globalBatchSize, features: spec.inputWidth, classes: spec.outputWidth, seed: config.seed &+ 1)
        let dataSeconds = (ContinuousClock.now - dataStart).seconds
        let trainer = try Trainer(config: config, train: train, test: test, communicator: communicator, pool: pool)
        let startup = processAge() - dataSeconds
        let elapsed = try trainer.benchmark(warmup: warmup, steps: steps).seconds
        let local = config.microBatchCount / communicator.size
        let limit = GemmBound.measure(
            network: trainer.network, microBatchSize: config.microBatchSize, microBatches: local,
            globalBatchSize: config.globalBatchSize, pool: pool)
        let times = trainer.times
        let perStep = { (duration: Duration) in duration.seconds / Double(max(times.steps, 1)) }
        let computed = perStep(times.forward) + perStep(times.loss) + perStep(times.backward) + perStep(times.gather)
        let samples = Double(steps * config.globalBatchSize) / elapsed
        return BenchmarkReport(
            model: spec.description, globalBatchSize: config.globalBatchSize, microBatchSize: config.microBatchSize,
            ranks: communicator.size, threads: pool.threadCount, steps: steps,
            samplesPerSecond: samples, limitSamplesPerSecond: limit.samplesPerSecond,
            ratio: samples / limit.samplesPerSecond,
            split: [
                "forward_gemm": limit.forwardSeconds,
                "backward_gemm": limit.backwardSeconds,
                "elementwise": max(0, computed - limit.forwardSeconds - limit.backwardSeconds),
                "optimizer": perStep(times.optimizer),
                "reduction": perStep(times.reduction),
                "waiting": perStep(times.waiting),
            ],
            peakResidentBytes: peakResidentBytes(), startupSeconds: startup)
    }

    /// Peak resident set size of this process (getrusage).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// Seconds since this process started (/proc/self/stat start time against /proc/uptime).
    static func processAge() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let uptimeText = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let uptime = Double(uptimeText.split(separator: " ").first ?? ""),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Field 22 of the whole line is the 20th after the command name (state is the 1st).
        guard fields.count > 19, let ticks = Double(fields[19]) else { return 0 }
        return uptime - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
