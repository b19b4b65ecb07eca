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
    /// Whether the ranks summed through node-shared memory rather than messages.
    public var nodeSharedMemory: Bool
    /// Whether the gradient and parameter sums were skipped (`--skip-sums`, a diagnostic).
    public var sumsSkipped: Bool
    public var steps: Int
    /// Samples per second over the whole timed run (total rows ÷ wall time).
    public var samplesPerSecond: Double
    /// Samples per second of the median step (robust to a noisy machine).
    public var medianStepSamplesPerSecond: Double
    /// The GEMM-bound limit: samples per second of the step's products alone, median repetition.
    public var limitSamplesPerSecond: Double
    /// The same from the best repetition.
    public var bestLimitSamplesPerSecond: Double
    /// medianStepSamplesPerSecond ÷ limitSamplesPerSecond: median against median.
    public var ratio: Double
    /// Seconds per step: forward GEMM, backward GEMM (the limit's products),
    /// gemm_slowdown (the products inside training steps, with their in-tile
    /// gradient sums, minus those), elementwise (everything else in forward,
    /// loss and backward, and gathering rows), optimizer, reduction (starting
    /// and driving messages), waiting.
    public var split: [String: Double]
    public var peakResidentBytes: Int
    /// From process start to the first step, without building the data.
    public var startupSeconds: Double
    /// The trainer's buffers by kind, and the bytes of the probe that measures the limit.
    public var memory: MemoryAccount
    public var probeBytes: Int
    /// The machine (rank 0's): its CPU, oneDNN's instruction set and the lanes of dptrain's kernels.
    public var cpu: String
    public var gemmInstructionSet: String
    public var kernelLanes: Int
}

public enum Benchmark {
    /// The most rows of synthetic training data a run builds (whole batches, at least one).
    public static let syntheticRowLimit = 65_536

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

    /// Runs the benchmark. With `skipSums` the ranks skip the step's gradient
    /// and parameter sums (`SkippedSums`): a diagnostic of the step without reduction.
    public static func run(
        config: TrainingConfig, warmup: Int, steps: Int, communicator given: any Communicator, pool: ThreadPool,
        skipSums: Bool = false
    ) throws(TrainingError) -> BenchmarkReport {
        let communicator: any Communicator = skipSums ? SkippedSums(wrapping: given) : given
        let spec = config.model
        let dataStart = ContinuousClock.now
        // Enough batches for the run, up to about Fashion-MNIST's size (a run
        // that needs more starts another epoch over them): a long run must
        // not build gigabytes, nor a short one read data that fits in cache.
        let batches = min(warmup + steps, max(1, syntheticRowLimit / config.globalBatchSize))
        let rows = batches * config.globalBatchSize
        let train = syntheticDataset(rows: rows, features: spec.inputWidth, classes: spec.outputWidth, seed: config.seed)
        let test = syntheticDataset(rows: config.globalBatchSize, features: spec.inputWidth, classes: spec.outputWidth, seed: config.seed &+ 1)
        let dataSeconds = (ContinuousClock.now - dataStart).seconds
        let trainer = try Trainer(config: config, train: train, test: test, communicator: communicator, pool: pool)
        let startup = processAge() - dataSeconds
        let local = config.microBatchCount / communicator.size
        // The limit is measured in five slices between the timed steps, so a
        // change in the machine's speed during the run hits both alike.
        let probe = GemmBound.Probe(
            network: trainer.network, microBatchSize: config.microBatchSize, microBatches: local,
            globalBatchSize: config.globalBatchSize, pool: pool)
        let slices = min(5, steps)
        let timed = try trainer.benchmark(warmup: warmup, steps: steps) { index in
            if (index + 1) * slices / steps != index * slices / steps {
                probe.run(seconds: 0.1, minimum: 1)
                // The ranks' slices end at different times: meet before the next
                // step, so its waiting is the step's own, not the other rank's probe.
                try? communicator.barrier()
            }
        }
        let elapsed = timed.total.seconds
        let gemmInSteps = Double(Gemm.elapsedNanoseconds.load(ordering: .relaxed)) / 1e9 / Double(steps)
        let limit = probe.result
        let times = trainer.times
        let perStep = { (duration: Duration) in duration.seconds / Double(max(times.steps, 1)) }
        let computed = perStep(times.forward) + perStep(times.loss) + perStep(times.backward) + perStep(times.gather)
        let samples = Double(steps * config.globalBatchSize) / elapsed
        let medianStep = Double(config.globalBatchSize) / median(timed.steps)
        let limitGemm = limit.forwardSeconds + limit.backwardSeconds
        return BenchmarkReport(
            model: spec.description, globalBatchSize: config.globalBatchSize, microBatchSize: config.microBatchSize,
            ranks: communicator.size, threads: pool.threadCount, nodeSharedMemory: trainer.usesNodeSharedMemory,
            sumsSkipped: skipSums,
            steps: steps,
            samplesPerSecond: samples, medianStepSamplesPerSecond: medianStep,
            limitSamplesPerSecond: limit.samplesPerSecond, bestLimitSamplesPerSecond: limit.bestSamplesPerSecond,
            ratio: medianStep / limit.samplesPerSecond,
            split: [
                "forward_gemm": limit.forwardSeconds,
                "backward_gemm": limit.backwardSeconds,
                "gemm_slowdown": gemmInSteps - limitGemm,
                "elementwise": max(0, computed - gemmInSteps),
                "optimizer": perStep(times.optimizer),
                "reduction": perStep(times.reduction),
                "waiting": perStep(times.waiting),
            ],
            peakResidentBytes: peakResidentBytes(), startupSeconds: startup,
            memory: trainer.memory, probeBytes: probe.byteCount,
            cpu: Host.cpuName, gemmInstructionSet: Host.gemmInstructionSet, kernelLanes: Host.kernelLanes)
    }

    /// Peak resident set size of this process: VmHWM of /proc/self/status,
    /// the high-water mark of this address space. (getrusage's ru_maxrss, the
    /// fallback, survives execve: a process spawned by vfork from a large
    /// parent, as a test runner does, reports the parent's size.)
    public static func peakResidentBytes() -> Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kilobytes = Int(line.dropFirst("VmHWM:".count).split(whereSeparator: \.isWhitespace).first ?? "")
        {
            return kilobytes * 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    /// Seconds since this process started (/proc/self/stat start time against /proc/uptime).
    public static func processAge() -> Double {
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
