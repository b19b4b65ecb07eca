// Trainer: data-parallel mini-batch training of one network.
//
// Each step takes global batch t = rows [tB, (t+1)B) of the epoch's
// permutation (a pure function of seed and epoch). Micro-batch g is rows
// [gm, (g+1)m) of it; rank r computes micro-batches [r·G/P, (r+1)·G/P), one
// after another. The micro-batch gradients are summed as a balanced binary
// tree over g (recursive bisection of [0, G)); a rank's micro-batches form a
// subtree, and the deterministic allreduce combines the ranks' subtrees in
// the same tree, so the summed gradient — and every weight after every step —
// has the same bits for any thread count and any power-of-two world size
// dividing G (DESIGN.md 2, 3). Every rank then applies the same update.
//
// Legend: B = global batch, m = micro-batch, G = B/m, P = world size, r = rank.

import Collective
import Datasets
import Engine
import Layers
import Logging
import Optimizers

/// Metrics of one epoch, as seen by rank 0.
public struct EpochReport: Sendable {
    public let epoch: Int
    public let epochs: Int
    /// Mean training loss over the epoch's steps.
    public let trainLoss: Double
    /// Training accuracy over the epoch's steps, for classification losses.
    public let trainAccuracy: Double?
    /// Loss over the validation rows, when the run holds some out.
    public let validationLoss: Double?
    /// Accuracy over the validation rows, for classification losses.
    public let validationAccuracy: Double?
    /// Loss over the whole test split.
    public let testLoss: Double
    /// Accuracy over the whole test split, for classification losses.
    public let testAccuracy: Double?
    /// Training samples per second (steps only, evaluation excluded).
    public let samplesPerSecond: Double
    /// Learning rate of the epoch's last step.
    public let learningRate: Float
    /// Whether early stopping ends the run after this epoch.
    public let stopsEarly: Bool
    /// Global L2 norm of the reduced gradient of the epoch's last step (before clipping).
    public internal(set) var gradientNorm = Double.nan
    /// Fraction of the epoch's step time this rank spent in gradient reductions.
    public let communicationShare: Double
    /// Steps skipped for NaN/Inf in the epoch (`--nan skip`).
    public internal(set) var skippedSteps = 0
}

/// Settings of a run that do not change its result.
public struct RunOptions: Sendable {
    /// Compare a parameter checksum across ranks every this many steps (0: never).
    public var verifySyncEvery: Int
    /// Abort the job when one step takes longer than this many seconds (0: no limit).
    public var stepTimeout: Double
    /// Report gradient health every this many steps (0: never).
    public var healthEvery: Int
    /// Bytes the buffers of a block of micro-batches may take: how many of a
    /// rank's micro-batches run forward and backward before their weight
    /// gradients are summed (at least one). Speed and memory, never the bits.
    public var blockBytes: Int

    public init(
        verifySyncEvery: Int = 0, stepTimeout: Double = 0, healthEvery: Int = 0,
        blockBytes: Int = MicroBatchBlock.defaultBytes
    ) {
        self.verifySyncEvery = verifySyncEvery
        self.stepTimeout = stepTimeout
        self.healthEvery = healthEvery
        self.blockBytes = blockBytes
    }
}

/// Time spent in each part of the training steps (this rank, summed).
public struct StepTimes: Sendable, Codable {
    /// Copying the micro-batch rows and targets.
    public var gather = Duration.zero
    /// Network forward (GEMMs and fused bias + activation).
    public var forward = Duration.zero
    /// Fused loss and its gradient.
    public var loss = Duration.zero
    /// Network backward (GEMMs, activation derivatives, column sums), without the reduction work inside it.
    public var backward = Duration.zero
    /// Summing the micro-batch tree and starting / driving the reduction between layers.
    public var reduction = Duration.zero
    /// Waiting for the reduction to finish after backward.
    public var waiting = Duration.zero
    /// The optimizer update.
    public var optimizer = Duration.zero
    /// Steps timed.
    public var steps = 0

    public init() {}
}

/// What a finished run reports.
public struct TrainingSummary: Sendable {
    public let final: EpochReport
    /// The epoch whose weights the run ends with when early stopping restored the best ones.
    public let restoredEpoch: Int?
    /// SHA-256 of the final parameter bytes: the run's reproducibility fingerprint.
    public let fingerprint: String
    /// Optimizer steps taken.
    public let steps: Int
}

public final class Trainer {
    public let config: TrainingConfig
    public let network: Network
    /// The flat parameter arena.
    public let parameters: FloatBuffer
    /// Whether the parameters and the step's gradient sum live in node-shared
    /// memory, so the ranks sum and gather them without messages.
    public let usesNodeSharedMemory: Bool
    /// This machine's numerics signature (`NumericsSignature`), recorded in checkpoints when set.
    public var numericsSignature: String?
    let optimizer: any Optimizer
    let communicator: any Communicator
    let pool: ThreadPool
    let options: RunOptions
    let watchdog: Watchdog?
    let train: Dataset
    let test: Dataset
    let validation: Dataset?
    let trainTargets: TargetTable
    let testTargets: TargetTable
    let validationTargets: TargetTable?

    /// The learning-rate schedule and its state (reduce-on-plateau's memory).
    let schedule: LearningRateSchedule
    var scheduleState: LearningRateSchedule.State
    /// Early stopping's memory, and the weights of its best epoch.
    var earlyStopping: EarlyStopping?
    var bestParameters: FloatBuffer?
    /// The feature standardisation fitted on the training rows (`config.standardize`).
    public let standardization: Standardization?
    /// Batch-norm running statistics (empty without batch norm).
    public let runningStatistics: FloatBuffer
    /// One micro-batch-tree level of batch statistics per gradient slot.
    let statisticsSlots: [FloatBuffer]
    /// Arena ranges the L1/L2 penalties apply to: the weight matrices.
    let decayMask: DecayMask
    /// Where the trainer logs: each step at debug level, each epoch at info level.
    public var logger = Logger(label: "dptrain.training")
    /// Called on rank 0 after every step with (epoch, step within the epoch,
    /// this rank's mean loss and accuracy so far in the epoch, learning rate), 1-based.
    public var stepObserver: ((Int, Int, Double, Double?, Float) -> Void)?
    /// Receives the gradient health every `options.healthEvery` steps (rank 0).
    public var healthObserver: ((HealthReport) -> Void)?
    /// Neuron activity of the ReLU layers within a logged step.
    let activity: ActivityTracker
    /// The run's random generator (shuffles, dropout masks).
    let rng: CounterRNG
    /// The epoch being trained (0-based).
    var epoch = 0
    /// Learning rate of the last step.
    var lastLearningRate: Float = 0
    /// Global L2 norm of the reduced gradient before clipping: every step with
    /// clipping by norm, else the epoch's last step.
    var lastGradientNorm = Double.nan

    /// Gradient buffers, one per level of the micro-batch tree; slot 0 holds the step's sum.
    let gradientSlots: [FloatBuffer]
    /// Base pointers of `gradientSlots` from the last slot to slot 0, so a
    /// chain of slots s − 1, s − 2, … is a contiguous piece.
    let slotsDescending: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>>
    /// How slot 0 is cut for the reduction across ranks.
    let buckets: GradientBuckets
    /// A failed collective inside backward's per-layer callback, thrown after it.
    var pendingCommunicationError: CollectiveError?
    /// Whether bucket reductions of the current step have been started and not finished.
    var reductionsInFlight = false
    /// Whether the current step's update is sharded across ranks (see `shardsUpdate`).
    var shardedStep = false
    /// Rank 0's choice of how node-shared sums move values, when the communicator leaves it to the trainer.
    var transportChooser: TransportChooser?
    /// Rank 0's proposal for the next step boundary: 0 none, 1 through the caches, 2 streamed.
    var proposedTransport: Int64 = 0
    /// The way agreed at this step's boundary, taken after the step (0: no change).
    var agreedTransport: Int64 = 0
    /// Whether optimizer state is current only on this rank's owned ranges
    /// since a sharded update (`synchronizeOptimizerState` makes it whole).
    var optimizerStateSharded = false
    /// Buffers of a block of micro-batches (see `runBlock`).
    let block: MicroBatchBlock
    let evaluationWorkspace: Workspace
    let batchTargets: FloatBuffer    // (m, k) values of the micro-batch
    let labelScratch: UnsafeMutablePointer<Int32>  // (max(m, evaluation rows)) labels of a chunk
    let rowLoss: FloatBuffer
    let rowCorrect: FloatBuffer
    let order: UnsafeMutableBufferPointer<Int32>  // the epoch's permutation (N)
    /// The background gather of the rank's next micro-batch (see `inputs`), and which one it is.
    let prefetchJob: UnsafeMutablePointer<RowPrefetch>
    /// The same gather run a row at a time while a rank of one thread waits.
    let idleGather: IdleGather
    var prefetched: MicroBatchPosition?

    // Running sums of the current epoch (local to the rank).
    var epochLoss = 0.0
    var epochCorrect = 0.0
    var communicationTime = Duration.zero
    /// Where this rank's step time went, summed since the trainer started.
    public internal(set) var times = StepTimes()
    var stepIndex = 0
    /// Checkpoints, resume, preemption and the NaN/Inf guard (Trainer+Checkpoint.swift).
    let faults = FaultTolerance()

    public init(
        config: TrainingConfig, train: Dataset, test: Dataset, validation: Dataset? = nil,
        communicator: any Communicator, pool: ThreadPool, options: RunOptions = RunOptions(),
        watchdog: Watchdog? = nil, deterministicReduction: Bool = true
    ) throws(TrainingError) {
        try config.validate(worldSize: communicator.size, deterministicReduction: deterministicReduction)
        let spec = config.model
        let splits = [("training", train), ("test", test)] + (validation.map { [("validation", $0)] } ?? [])
        for (split, data) in splits where data.featureCount != spec.inputWidth {
            throw .dataMismatch(
                "model spec '\(spec)' takes \(spec.inputWidth) inputs but the \(split) data \(data.name) has \(data.featureCount) features per row")
        }
        if train.rowCount < config.globalBatchSize {
            throw .invalidOption(
                "--batch-size \(config.globalBatchSize) is larger than the \(train.rowCount) training rows of \(train.name)")
        }
        self.config = config
        self.train = train
        self.test = test
        self.validation = validation
        if config.standardize {
            let fitted = Standardization(fitting: train)
            // The test split may be the training set itself (XOR, a CSV without --test-data): once each.
            var done = Set<ObjectIdentifier>()
            for data in [train, test] + (validation.map { [$0] } ?? []) where done.insert(ObjectIdentifier(data)).inserted {
                fitted.apply(to: data.features, rows: data.rowCount)
            }
            standardization = fitted
        } else {
            standardization = nil
        }
        self.validationTargets = try validation.map { (data) throws(TrainingError) in
            try TargetTable.prepare(data, loss: config.loss, outputs: spec.outputWidth)
        }
        self.rng = CounterRNG(seed: config.seed)
        self.activity = ActivityTracker(spec)
        self.schedule = config.learningRateSchedule
        self.scheduleState = config.learningRateSchedule.initialState()
        self.earlyStopping = config.earlyStopping
        self.communicator = communicator
        self.pool = pool
        self.options = options
        self.watchdog = watchdog
        self.trainTargets = try TargetTable.prepare(train, loss: config.loss, outputs: spec.outputWidth)
        self.testTargets = try TargetTable.prepare(test, loss: config.loss, outputs: spec.outputWidth)

        let network = Network(spec)
        let count = network.parameterCount
        decayMask = DecayMask(
            ranges: network.layout.tensors.filter(\.role.isDecayedByDefault).map { $0.offset..<($0.offset + $0.count) })
        self.network = network
        // The parameters and the step's gradient sum are the buffers summed
        // and gathered every step: in node-shared memory when the ranks share one.
        let shared: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?)
        do throws(CollectiveError) {
            shared = (
                try communicator.nodeSharedFloats(count: count, summed: false),
                try communicator.nodeSharedFloats(count: count, summed: true))
        } catch {
            throw .communication(error.description)
        }
        parameters = shared.0.map { FloatBuffer(borrowing: $0, count: count) } ?? FloatBuffer(count: count)
        usesNodeSharedMemory = shared.0 != nil && shared.1 != nil
        if usesNodeSharedMemory, communicator.choosesTransport, communicator.rank == 0 {
            transportChooser = TransportChooser(streaming: true)
        }
        network.initialize(parameters, rng: CounterRNG(seed: config.seed), initializer: config.initializer)
        optimizer = makeOptimizer(config.optimizer, parameterCount: count)

        let m = config.microBatchSize
        let localMicroBatches = config.microBatchCount / communicator.size
        let blockCapacity = MicroBatchBlock.capacity(
            network: network, rows: m, microBatches: localMicroBatches, bytes: options.blockBytes)
        let levels = Trainer.slotCount(microBatches: localMicroBatches, blockCapacity: blockCapacity)
        gradientSlots = (0..<levels).map { level in
            shared.1.flatMap { level == 0 ? FloatBuffer(borrowing: $0, count: count) : nil } ?? FloatBuffer(count: count)
        }
        runningStatistics = FloatBuffer(count: network.statisticsCount)
        network.initializeStatistics(runningStatistics)
        statisticsSlots = (0..<levels).map { _ in FloatBuffer(count: network.statisticsCount) }
        buckets = GradientBuckets(network.layout)
        slotsDescending = .allocate(capacity: levels)
        for (index, slot) in gradientSlots.reversed().enumerated() { slotsDescending[index] = slot.pointer }
        block = MicroBatchBlock(network: network, rows: m, capacity: blockCapacity)
        evaluationWorkspace = Workspace(network: network, rows: config.evaluationBatchSize)
        batchTargets = FloatBuffer(count: m * spec.outputWidth)
        let rows = max(m, config.evaluationBatchSize)
        labelScratch = .allocate(capacity: rows)
        labelScratch.initialize(repeating: 0, count: rows)
        rowLoss = FloatBuffer(count: rows)
        rowCorrect = FloatBuffer(count: rows)
        order = .allocate(capacity: train.rowCount)
        order.initialize(repeating: 0)
        prefetchJob = .allocate(capacity: 1)
        prefetchJob.initialize(to: RowPrefetch(dataset: train, destination: block.spare.pointer))
        idleGather = IdleGather(job: prefetchJob)
        if communicator.size > 1 {
            // Bucket reductions in flight advance between GEMM tiles, not only between layers.
            pool.callerHook = { [unowned self] in
                if self.reductionsInFlight, self.pendingCommunicationError == nil {
                    do throws(CollectiveError) { try self.communicator.progressSums() } catch { self.pendingCommunicationError = error }
                }
            }
        }
        // Every rank initialises identically from the counter RNG; rank 0's
        // copy is broadcast anyway, so the ranks start equal by construction.
        if communicator.size > 1 {
            do {
                try parameters.withUnsafeBytes { bytes throws(CollectiveError) in
                    try communicator.broadcast(UnsafeMutableRawBufferPointer(mutating: bytes), root: 0)
                }
            } catch {
                throw .communication(error.description)
            }
        }
        // Schedule, early stopping and batch-norm statistics travel in every checkpoint.
        try register(FeatureState(self))
    }

    deinit {
        settlePrefetch()
        prefetchJob.deinitialize(count: 1)
        prefetchJob.deallocate()
        if communicator.size > 1 { pool.callerHook = nil }
        labelScratch.deallocate()
        order.deallocate()
        slotsDescending.deallocate()
    }

    /// Levels below the root of the bisection tree over `leaves` leaves.
    static func treeDepth(_ leaves: Int) -> Int { BalancedTree.depth(leaves) }

    /// Gradient slots a tree over `microBatches` leaves needs when subtrees
    /// of up to `blockCapacity` leaves run as one block: one per level above
    /// the blocks on the (deepest) right spine, plus the blocks' own.
    static func slotCount(microBatches: Int, blockCapacity: Int) -> Int {
        microBatches <= blockCapacity ? 1 : 1 + slotCount(microBatches: microBatches - microBatches / 2, blockCapacity: blockCapacity)
    }

    /// Steps in one epoch: the full batches, plus the partial one with `--last-batch keep`.
    public var stepsPerEpoch: Int {
        let full = train.rowCount / config.globalBatchSize
        return config.lastBatch == .keep && train.rowCount % config.globalBatchSize != 0 ? full + 1 : full
    }

    /// Training rows one epoch visits.
    var rowsPerEpoch: Int { min(stepsPerEpoch * config.globalBatchSize, train.rowCount) }

    /// Trains for `config.epochs` epochs (from the restored position, if any, and
    /// until early stopping ends it), calling
    /// `onEpoch` on rank 0 after each.
    public func run(onEpoch: (EpochReport) -> Void = { _ in }) throws(TrainingError) -> TrainingSummary {
        try config.validate(runSteps: config.epochs * stepsPerEpoch)
        var last: EpochReport?
        for epoch in faults.startEpoch..<config.epochs {
            self.epoch = epoch
            settlePrefetch()
            rng.permutation(into: order, .shuffle, stream: UInt32(epoch))
            beginEpoch(epoch)
            communicationTime = .zero
            let start = ContinuousClock.now
            for batch in firstBatch(of: epoch)..<stepsPerEpoch {
                watchdog?.arm("step \(stepIndex + 1)", seconds: options.stepTimeout)
                try step(batch: batch)
                logger.debug(
                    "step",
                    metadata: [
                        "rank": "\(communicator.rank)", "epoch": "\(epoch + 1)", "step": "\(stepIndex)",
                        "lr": "\(lastLearningRate)", "epoch_loss_sum": "\(epochLoss)",
                    ])
                if let stepObserver, communicator.rank == 0 {
                    let rows = Double(max(1, (batch + 1) * config.globalBatchSize / communicator.size))
                    stepObserver(
                        epoch + 1, batch + 1, epochLoss / rows, config.loss.hasAccuracy ? epochCorrect / rows : nil,
                        lastLearningRate)
                }
                if options.verifySyncEvery > 0 && stepIndex % options.verifySyncEvery == 0 {
                    try verifySynchronized()
                }
                try endStep(epoch: epoch, batch: batch)
                watchdog?.disarm()
            }
            let seconds = (ContinuousClock.now - start).seconds
            var sums = [epochLoss, epochCorrect]
            try reduce(&sums)
            let trainRows = Double(rowsPerEpoch)
            let (validationMetrics, testMetrics) = try evaluateOnRoot()
            let stops = try endOfEpoch(validation: validationMetrics ?? testMetrics)
            var report = EpochReport(
                epoch: epoch + 1, epochs: config.epochs,
                trainLoss: sums[0] / trainRows,
                trainAccuracy: config.loss.hasAccuracy ? sums[1] / trainRows : nil,
                validationLoss: validationMetrics?.loss, validationAccuracy: validationMetrics?.accuracy,
                testLoss: testMetrics.loss, testAccuracy: testMetrics.accuracy,
                samplesPerSecond: trainRows * resumedEpochShare(epoch) / max(seconds, 1e-9),
                learningRate: lastLearningRate, stopsEarly: stops,
                communicationShare: communicationTime.seconds / max(seconds, 1e-9))
            report.skippedSteps = faults.skippedInEpoch
            report.gradientNorm = lastGradientNorm
            logger.info(
                "epoch",
                metadata: [
                    "rank": "\(communicator.rank)", "epoch": "\(epoch + 1)", "step": "\(stepIndex)",
                    "train_loss": "\(report.trainLoss)", "test_loss": "\(report.testLoss)",
                    "samples_per_second": "\(report.samplesPerSecond)",
                ])
            if communicator.rank == 0 { onEpoch(report) }
            try endEpoch(epoch, report: report)
            last = report
            if stops { break }
        }
        var restored: Int?
        if let final = last, let best = bestParameters, let stopping = earlyStopping, let bestEpoch = stopping.bestEpoch,
           bestEpoch + 1 != final.epoch
        {
            parameters.copy(from: best)
            restored = bestEpoch + 1
            let (_, testMetrics) = try evaluateOnRoot()
            last = final.withTest(testMetrics)
        }
        return try finishRun(last, restoredEpoch: restored)
    }

    /// Rank 0 evaluates the validation rows (if any) and the test split, every
    /// row exactly once, and shares the results, so every rank branches the
    /// same way on them (DESIGN.md 4).
    private func evaluateOnRoot() throws(TrainingError) -> (validation: (loss: Double, accuracy: Double?)?, test: (loss: Double, accuracy: Double?)) {
        let isRoot = communicator.rank == 0
        var testMetrics = isRoot ? evaluate(test, targets: testTargets) : (loss: 0, accuracy: nil)
        try shareFromRoot(&testMetrics)
        guard let validation, let validationTargets else { return (nil, testMetrics) }
        var validationMetrics = isRoot ? evaluate(validation, targets: validationTargets) : (loss: 0, accuracy: nil)
        try shareFromRoot(&validationMetrics)
        return (validationMetrics, testMetrics)
    }

    /// Feeds the watched metric to reduce-on-plateau and early stopping;
    /// returns whether the run stops here. Every rank sees the same metric
    /// (broadcast from rank 0), so every rank decides the same.
    private func endOfEpoch(validation metrics: (loss: Double, accuracy: Double?)) throws(TrainingError) -> Bool {
        let value = config.monitor == .accuracy ? (metrics.accuracy ?? .nan) : metrics.loss
        schedule.observe(metric: value, state: &scheduleState)
        guard var stopping = earlyStopping else { return false }
        let decision = stopping.observe(metric: value, epoch: epoch)
        earlyStopping = stopping
        if stopping.bestEpoch == epoch {
            let best = bestParameters ?? FloatBuffer(count: parameters.count)
            best.copy(from: parameters)
            bestParameters = best
        }
        return decision == .stop
    }

    /// The confusion matrix and per-class figures of `data` (the test split by
    /// default) for a classification loss with class labels; nil otherwise.
    public func classificationMetrics() -> ClassificationMetrics? {
        guard config.loss.usesClassLabels, case .classes(let labels, _) = test.targets else { return nil }
        let k = config.model.outputWidth
        var metrics = ClassificationMetrics(classCount: k)
        forEachEvaluationChunk(test) { start, count, logits in
            for row in 0..<count {
                let scores = UnsafeBufferPointer(start: logits.pointer + row * logits.rowStride, count: k)
                metrics.add(actual: Int(labels[start + row]), predicted: ClassificationMetrics.predictedClass(scores: scores))
            }
        }
        return metrics
    }

    /// Runs `warmup` steps, then `steps` timed steps (from epoch 0, another
    /// epoch whenever the data runs out) and returns the timed steps' wall
    /// time; `times` then holds the timed steps' split.
    ///
    /// `between(i)` runs after timed step i, outside every timing (the
    /// benchmark interleaves its GEMM-bound probe there).
    public func benchmark(
        warmup: Int, steps: Int, between: (Int) -> Void = { _ in }
    ) throws(TrainingError) -> (total: Duration, steps: [Double]) {
        precondition(stepsPerEpoch > 0, "benchmark needs at least one batch of data")
        epoch = -1
        // Batch `index` of the run, starting another epoch (a fresh order) when the data runs out.
        func step(_ index: Int) throws(TrainingError) {
            let batch = index % stepsPerEpoch
            if batch == 0 {
                epoch += 1
                settlePrefetch()
                CounterRNG(seed: config.seed).permutation(into: order, .shuffle, stream: UInt32(truncatingIfNeeded: epoch))
            }
            try self.step(batch: batch)
        }
        for index in 0..<warmup { try step(index) }
        try communicator.barrierOrThrow()
        times = StepTimes()
        var durations = [Double](repeating: 0, count: steps)
        Gemm.timing = true
        Gemm.elapsedNanoseconds.store(0, ordering: .relaxed)
        defer { Gemm.timing = false }
        var total = Duration.zero
        for index in 0..<steps {
            let start = ContinuousClock.now
            try step(warmup + index)
            let elapsed = ContinuousClock.now - start
            durations[index] = elapsed.seconds
            total += elapsed
            Gemm.timing = false
            between(index)
            Gemm.timing = true
        }
        let start = ContinuousClock.now
        try communicator.barrierOrThrow()
        return (total + (ContinuousClock.now - start), durations)
    }

    /// SHA-256 of the parameter arena's bytes.
    public func fingerprint() -> String {
        parameters.withUnsafeBytes { SHA256.hex($0) }
    }

    /// Rank 0's evaluation result on every rank.
    func shareFromRoot(_ metrics: inout (loss: Double, accuracy: Double?)) throws(TrainingError) {
        if communicator.size == 1 { return }
        var values = [metrics.loss, metrics.accuracy ?? .nan]
        do {
            try values.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        } catch {
            throw .communication("\(error)")
        }
        metrics = (values[0], values[1].isNaN ? nil : values[1])
    }

    /// Stops the job when some rank's parameters differ from rank 0's (DESIGN.md 4).
    func verifySynchronized() throws(TrainingError) {
        if communicator.size == 1 { return }
        var checksum = [Int64(bitPattern: parameterChecksum())]
        do {
            let mine = checksum[0]
            try checksum.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
            let first = try communicator.allreduceMin(mine == checksum[0] ? Int64.max : Int64(communicator.rank))
            if first != Int64.max {
                throw TrainingError.communication(
                    "ranks diverged at step \(stepIndex): rank \(first)'s parameters differ from rank 0's; "
                        + "check that every rank runs the same binary on the same machine type")
            }
        } catch let error as TrainingError {
            throw error
        } catch {
            throw .communication("\(error)")
        }
    }

    /// A 64-bit checksum of the parameter bits (FNV-1a over 32-bit words, in index order).
    func parameterChecksum() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        parameters.pointer.withMemoryRebound(to: UInt32.self, capacity: parameters.count) { words in
            for i in 0..<parameters.count {
                hash = (hash ^ UInt64(words[i])) &* 0x0000_0100_0000_01b3
            }
        }
        return hash
    }

    func reduce(_ values: inout [Double]) throws(TrainingError) {
        if communicator.size == 1 { return }
        do {
            try values.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in
                try communicator.allreduceSum(buffer)
            }
        } catch {
            throw .communication(error.description)
        }
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) * 1e-18
    }
}

extension EpochReport {
    /// The same report with other test metrics.
    func withTest(_ metrics: (loss: Double, accuracy: Double?)) -> EpochReport {
        var report = EpochReport(
            epoch: epoch, epochs: epochs, trainLoss: trainLoss, trainAccuracy: trainAccuracy,
            validationLoss: validationLoss, validationAccuracy: validationAccuracy,
            testLoss: metrics.loss, testAccuracy: metrics.accuracy, samplesPerSecond: samplesPerSecond,
            learningRate: learningRate, stopsEarly: stopsEarly, communicationShare: communicationShare,
            skippedSteps: skippedSteps)
        report.gradientNorm = gradientNorm
        return report
    }
}

extension Communicator {
    /// `barrier()` with the failure as a TrainingError.
    func barrierOrThrow() throws(TrainingError) {
        do { try barrier() } catch { throw .communication(error.description) }
    }
}
