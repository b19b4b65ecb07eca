// The trainer's contract without MPI: ranks on threads (the in-process
// communicator) must give the same weights, bit for bit, as one process with
// the same global batch and micro-batch, for world sizes 1, 2 and 4.

import Collective
import Datasets
import Engine
import Layers
import Optimizers
import Testing
@testable import Training

/// A small learnable problem: 96 rows of 6 features, label = argmax of a fixed linear map.
func syntheticDataset(rows: Int = 96) -> Dataset {
    let rng = CounterRNG(seed: 7)
    let features = FloatBuffer(count: rows * 6)
    var labels: [Int32] = []
    for row in 0..<rows {
        var scores: [Float] = [0, 0, 0]
        for column in 0..<6 {
            let x = rng.normal(.syntheticData, stream: 0, index: UInt64(row * 6 + column))
            features[row * 6 + column] = x
            scores[column % 3] += x * Float(column + 1)
        }
        labels.append(Int32(scores.indices.max { scores[$0] < scores[$1] } ?? 0))
    }
    return Dataset(name: "synthetic", featureCount: 6, features: features, targets: .classes(labels: labels, classCount: 3))
}

func smallConfig(microBatch: Int = 4, optimizer: OptimizerConfig = .adam()) throws -> TrainingConfig {
    TrainingConfig(
        model: try ModelSpec(parsing: "6-8:tanh-5:relu-3:softmax"), epochs: 2, globalBatchSize: 16,
        microBatchSize: microBatch, optimizer: optimizer, learningRate: 0.01, seed: 3)
}

@Suite struct TrainerTests {
    @Test(arguments: [1, 2, 4])
    func worldSizeDoesNotChangeTheWeights(worldSize: Int) throws {
        let reference = try Trainer(
            config: smallConfig(), train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1)
        ).run().fingerprint

        let outcomes = InProcessCommunicatorGroup(size: worldSize).run { communicator in
            let data = syntheticDataset()
            let trainer = try Trainer(
                config: try smallConfig(), train: data, test: data, communicator: communicator,
                pool: ThreadPool(threadCount: 1))
            return try trainer.run().fingerprint
        }
        for (rank, outcome) in outcomes.enumerated() {
            #expect(try outcome.get() == reference, "rank \(rank) of \(worldSize)")
        }
    }

    @Test func threadCountDoesNotChangeTheWeights() throws {
        var fingerprints: [String] = []
        for threads in [1, 2, 3] {
            let trainer = try Trainer(
                config: smallConfig(microBatch: 8, optimizer: .sgd(momentum: 0.9, nesterov: true)),
                train: syntheticDataset(), test: syntheticDataset(),
                communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: threads))
            fingerprints.append(try trainer.run().fingerprint)
        }
        #expect(Set(fingerprints).count == 1)
    }

    @Test func trainingLowersTheLoss() throws {
        var config = try smallConfig()
        config.epochs = 30
        let trainer = try Trainer(
            config: config, train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1))
        var losses: [Double] = []
        _ = try trainer.run { losses.append($0.testLoss) }
        #expect(losses.count == 30)
        #expect(try #require(losses.last) < 0.5 * losses[0])
        #expect(trainer.stepsPerEpoch == 6)
    }

    @Test(arguments: [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (8, 3)])
    func gradientTreeDepthIsTheBisectionDepth(leaves: Int, depth: Int) {
        #expect(Trainer.treeDepth(leaves) == depth)
    }
}

@Suite struct TrainingConfigTests {
    @Test func worldSizesMustBePowersOfTwoDividingTheMicroBatchCount() throws {
        let config = try smallConfig(microBatch: 4)  // G = 4
        try config.validate(worldSize: 4)
        #expect(throws: TrainingError.invalidOption(
            "world size 3 does not divide the 4 micro-batches of a global batch (batch 16 / micro-batch 4); valid world sizes: 1, 2, 4")
        ) { try config.validate(worldSize: 3) }
        #expect(throws: TrainingError.invalidOption(
            "world size 8 does not divide the 4 micro-batches of a global batch (batch 16 / micro-batch 4); valid world sizes: 1, 2, 4")
        ) { try config.validate(worldSize: 8) }
    }

    @Test func lossMustFitTheHead() throws {
        var config = try smallConfig()
        config.loss = .meanSquaredError
        #expect(throws: TrainingError.invalidOption("loss 'mse' does not fit the softmax output; use cross-entropy")) {
            try config.validate()
        }
    }

    @Test func lossNamesRoundTrip() {
        for name in Loss.allNames { #expect(Loss(name: name)?.name == name) }
        #expect(Loss(name: "huber(2.5)") == .huber(delta: 2.5))
        #expect(Loss(name: "smooth-l1(0.5)") == .smoothL1(beta: 0.5))
        #expect(Loss(name: "huber(-1)") == nil)
    }
}

@Suite struct TargetTableTests {
    @Test func classLabelsBecomeOneHotForValueLosses() throws {
        let data = Dataset(name: "d", featureCount: 1, features: FloatBuffer([0, 1, 2]),
                           targets: .classes(labels: [2, 0, 1], classCount: 3))
        guard case .values(let values, let width) = try TargetTable.prepare(data, loss: .meanSquaredError, outputs: 3) else {
            Issue.record("expected values")
            return
        }
        #expect(width == 3)
        #expect(values.array == [0, 0, 1, 1, 0, 0, 0, 1, 0])
    }

    @Test func binaryLabelsFeedOneOutput() throws {
        let data = Dataset(name: "d", featureCount: 1, features: FloatBuffer([0, 1]),
                           targets: .classes(labels: [1, 0], classCount: 2))
        guard case .values(let values, 1) = try TargetTable.prepare(data, loss: .hinge, outputs: 1) else {
            Issue.record("expected one value per row")
            return
        }
        #expect(values.array == [1, 0])
    }

    @Test func mismatchesAreNamed() {
        let regression = Dataset(name: "r.csv", featureCount: 1, features: FloatBuffer([0, 1]),
                                 targets: .values(FloatBuffer([0.5, 1.5]), width: 1))
        #expect(throws: TrainingError.dataMismatch(
            "loss 'cross-entropy' needs class labels but r.csv has real-valued targets; use mse, mae, huber or smooth-l1")
        ) { try TargetTable.prepare(regression, loss: .crossEntropy, outputs: 2) }
        #expect(throws: TrainingError.dataMismatch(
            "r.csv has 1 target values per row but the model's output layer has 2 units")
        ) { try TargetTable.prepare(regression, loss: .meanSquaredError, outputs: 2) }
        let classes = Dataset(name: "c", featureCount: 1, features: FloatBuffer([0, 1]),
                              targets: .classes(labels: [4, 0], classCount: 5))
        #expect(throws: TrainingError.dataMismatch("c has 5 classes but the model's output layer has 3 units")) {
            try TargetTable.prepare(classes, loss: .crossEntropy, outputs: 3)
        }
    }
}

@Suite struct RegularizedTrainingTests {
    /// Clipping, L2 + L1, max-norm, warmup + cosine and momentum together still
    /// give the same weights on 1, 2 and 4 in-process ranks.
    static func regularizedConfig() throws -> TrainingConfig {
        var config = try smallConfig(optimizer: .sgd(momentum: 0.9, nesterov: false))
        config.epochs = 3
        config.clipping = .byNorm(maxNorm: 0.5)
        config.penalty = WeightPenalty(l2: 1e-3, l1: 1e-4)
        config.maxNorm = MaxNormConstraint(maxNorm: 1.5)
        config.schedule = .cosine(epochs: 3, minimumLearningRate: 0)
        config.warmup = LearningRateSchedule.Warmup(steps: 4)
        return config
    }

    @Test func everyRegularizerKeepsTheWorldSizeContract() throws {
        let reference = try Trainer(
            config: Self.regularizedConfig(), train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 2)
        ).run().fingerprint
        for size in [2, 4] {
            let outcomes = InProcessCommunicatorGroup(size: size).run { communicator in
                let data = syntheticDataset()
                return try Trainer(
                    config: try RegularizedTrainingTests.regularizedConfig(), train: data, test: data,
                    communicator: communicator, pool: ThreadPool(threadCount: 1)
                ).run().fingerprint
            }
            for outcome in outcomes { #expect(try outcome.get() == reference, "world size \(size)") }
        }
    }

    @Test func maxNormBoundsEveryNeuronsIncomingWeights() throws {
        var config = try smallConfig()
        config.maxNorm = MaxNormConstraint(maxNorm: 0.2)
        let trainer = try Trainer(
            config: config, train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1))
        _ = try trainer.run()
        for slot in trainer.network.layout.tensors where slot.role == .weight {
            let (inputs, outputs) = (slot.shape[0], slot.shape[1])
            for j in 0..<outputs {
                var squares = 0.0
                for i in 0..<inputs { squares += Double(trainer.parameters[slot.offset + i * outputs + j]).squared }
                #expect(squares.squareRoot() <= 0.2 + 1e-6)
            }
        }
    }

    @Test func warmupAndScheduleSetTheRateOfEveryStep() throws {
        var config = try smallConfig(optimizer: .sgd(momentum: 0, nesterov: false))
        config.epochs = 2
        config.schedule = .step(stepSize: 1, gamma: 0.5)
        config.warmup = LearningRateSchedule.Warmup(steps: 4)
        let trainer = try Trainer(
            config: config, train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1))
        var rates: [Float] = []
        _ = try trainer.run { rates.append($0.learningRate) }
        // 6 steps per epoch: epoch 1 ends past warmup at the base rate, epoch 2 halves it.
        #expect(rates == [0.01, 0.005])
    }

    @Test func earlyStoppingRestoresTheBestEpochsWeights() throws {
        var config = try smallConfig()
        config.epochs = 40
        config.learningRate = 0.2  // too large: the validation loss soon stops improving
        config.validationSplit = 0.25
        config.earlyStopping = EarlyStopping(patience: 2, minDelta: 0, mode: .minimize)
        let (train, validation) = try DataSource.splitValidation(syntheticDataset(), fraction: 0.25, seed: 3)
        let trainer = try Trainer(
            config: config, train: train, test: syntheticDataset(), validation: validation,
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1))
        var losses: [Double] = []
        let summary = try trainer.run { losses.append($0.validationLoss ?? .nan) }
        #expect(losses.count < 40)
        let best = try #require(losses.indices.min { losses[$0] < losses[$1] })
        #expect(losses.count == best + 3)  // patience 2: two epochs without improvement, then stop
        #expect(summary.restoredEpoch == best + 1)
        #expect(trainer.evaluate(validation!, targets: trainer.validationTargets!).loss == losses[best])
    }

    @Test func validationSplitIsAPureFunctionOfTheSeed() throws {
        let data = syntheticDataset()
        let (trainA, validationA) = try DataSource.splitValidation(data, fraction: 0.25, seed: 9)
        let (_, validationB) = try DataSource.splitValidation(data, fraction: 0.25, seed: 9)
        let (_, validationC) = try DataSource.splitValidation(data, fraction: 0.25, seed: 10)
        #expect(trainA.rowCount == 72 && validationA?.rowCount == 24)
        #expect(validationA?.features.array == validationB?.features.array)
        #expect(validationA?.features.array != validationC?.features.array)
    }
}

extension Double {
    fileprivate var squared: Double { self * self }
}

@Suite struct NormalizedTrainingTests {
    static func config() throws -> TrainingConfig {
        var config = try smallConfig()
        config.model = try ModelSpec(parsing: "6-8:tanh:bn-5:relu:dropout(0.3)-3:softmax")
        return config
    }

    /// Dropout masks and batch statistics follow the micro-batch, not the rank:
    /// weights and running statistics agree on 1, 2 and 4 in-process ranks.
    @Test func batchNormAndDropoutKeepTheWorldSizeContract() throws {
        let single = try Trainer(
            config: Self.config(), train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 2))
        let reference = try single.run().fingerprint
        let statistics = single.runningStatistics.array
        #expect(statistics.contains { $0 != 0 && $0 != 1 })
        for size in [2, 4] {
            let outcomes = InProcessCommunicatorGroup(size: size).run { communicator in
                let data = syntheticDataset()
                let trainer = try Trainer(
                    config: try NormalizedTrainingTests.config(), train: data, test: data,
                    communicator: communicator, pool: ThreadPool(threadCount: 1))
                return (try trainer.run().fingerprint, trainer.runningStatistics.array)
            }
            for outcome in outcomes {
                let (fingerprint, running) = try outcome.get()
                #expect(fingerprint == reference, "world size \(size)")
                #expect(running == statistics, "world size \(size)")
            }
        }
    }

    @Test func batchNormRefusesAKeptLastBatch() throws {
        var config = try Self.config()
        config.lastBatch = .keep
        #expect(throws: TrainingError.invalidOption(
            "--last-batch keep cannot be used with batch normalization (masked rows would enter the batch statistics); use --last-batch drop")
        ) { try config.validate() }
    }
}

@Suite struct MicroBatchBlockTests {
    /// Running the rank's micro-batches one at a time (a block of one, the
    /// sums carried through gradient slots), two at a time, or all at once
    /// (sums inside the GEMM tiles) gives the same weights, with batch norm
    /// and dropout too.
    @Test(arguments: ["6-8:tanh-5:relu-3:softmax", "6-8:tanh:bn-5:prelu:dropout(0.3)-3:softmax"])
    func blockSizeDoesNotChangeTheWeights(model: String) throws {
        var config = try smallConfig(microBatch: 2)
        config.model = try ModelSpec(parsing: model)
        let oneMicroBatch = MicroBatchBlock.bytesPerMicroBatch(network: Network(config.model), rows: 2)
        var fingerprints: [String] = []
        for bytes in [1, oneMicroBatch * 2, MicroBatchBlock.defaultBytes] {
            let trainer = try Trainer(
                config: config, train: syntheticDataset(), test: syntheticDataset(),
                communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 2),
                options: RunOptions(blockBytes: bytes))
            fingerprints.append(try trainer.run().fingerprint)
            #expect(trainer.block.capacity == (bytes == 1 ? 1 : bytes == oneMicroBatch * 2 ? 2 : 8), "\(bytes) bytes")
        }
        #expect(Set(fingerprints).count == 1, "\(fingerprints)")
    }
}

@Suite struct BackgroundGatherTests {
    /// `rows` rows of `features` normal features in three classes.
    static func wideDataset(rows: Int, features: Int) -> Dataset {
        let rng = CounterRNG(seed: 11)
        let values = FloatBuffer(count: rows * features)
        for i in 0..<(rows * features) { values[i] = rng.normal(.syntheticData, stream: 0, index: UInt64(i)) }
        let labels = (0..<rows).map { row in Int32(values[row * features] > 0 ? 1 : values[row * features + 1] > 0 ? 2 : 0) }
        return Dataset(name: "wide", featureCount: features, features: values, targets: .classes(labels: labels, classCount: 3))
    }

    /// An idle pool worker gathers the rank's next micro-batch while one runs
    /// (in tasks of a few rows: 2048 features make two tasks of a micro-batch
    /// of 8); the weights are those of rows gathered in place on one thread,
    /// across blocks, batches, epochs, a kept partial batch (26 of 32 rows:
    /// masked rows and a micro-batch with 2 real rows) and ranks.
    @Test func rowsGatheredInTheBackgroundGiveTheWeightsOfRowsGatheredInPlace() throws {
        let data = Self.wideDataset(rows: 90, features: 2048)
        var config = TrainingConfig(
            model: try ModelSpec(parsing: "2048-8:tanh-3:softmax"), epochs: 2, globalBatchSize: 32,
            microBatchSize: 8, optimizer: .adam(), learningRate: 0.01, seed: 3)
        config.lastBatch = .keep
        func fingerprint(threads: Int, blockBytes: Int = MicroBatchBlock.defaultBytes) throws -> String {
            try Trainer(
                config: config, train: data, test: data, communicator: SingleProcessCommunicator(),
                pool: ThreadPool(threadCount: threads), options: RunOptions(blockBytes: blockBytes)
            ).run().fingerprint
        }
        let reference = try fingerprint(threads: 1)
        for threads in [2, 3] {
            #expect(try fingerprint(threads: threads) == reference, "\(threads) threads")
            #expect(try fingerprint(threads: threads, blockBytes: 1) == reference, "\(threads) threads, blocks of one")
        }
        let shared = config
        let outcomes = InProcessCommunicatorGroup(size: 2).run { communicator in
            let data = Self.wideDataset(rows: 90, features: 2048)
            return try Trainer(config: shared, train: data, test: data, communicator: communicator,
                               pool: ThreadPool(threadCount: 2)).run().fingerprint
        }
        for (rank, outcome) in outcomes.enumerated() {
            #expect(try outcome.get() == reference, "rank \(rank) of 2, 2 threads each")
        }
    }
}

@Suite struct ShardedUpdateTests {
    /// In-process ranks update only their owned parts of every bucket and
    /// allgather the parameters; once synchronized, their optimizer state
    /// (Adam's m and v, SGD's momentum) is bitwise the single process's.
    @Test(arguments: [OptimizerConfig.adam(), .sgd(momentum: 0.9, nesterov: false)], [2, 4])
    func optimizerStateMatchesTheSingleProcessOnceSynchronized(optimizer: OptimizerConfig, ranks: Int) throws {
        let config = try smallConfig(optimizer: optimizer)
        let single = try Trainer(
            config: config, train: syntheticDataset(), test: syntheticDataset(),
            communicator: SingleProcessCommunicator(), pool: ThreadPool(threadCount: 1))
        // Stop before the epoch's last step, which updates unsharded.
        _ = try single.benchmark(warmup: 0, steps: 5)
        let reference = single.optimizer.state.map(\.array)
        let outcomes = InProcessCommunicatorGroup(size: ranks).run { communicator in
            let data = syntheticDataset()
            let trainer = try Trainer(
                config: config, train: data, test: data, communicator: communicator, pool: ThreadPool(threadCount: 1))
            _ = try trainer.benchmark(warmup: 0, steps: 5)
            let sharded = trainer.optimizerStateSharded
            try trainer.synchronizeOptimizerState()
            return (sharded, trainer.optimizer.state.map(\.array), trainer.fingerprint())
        }
        for (rank, outcome) in outcomes.enumerated() {
            let (sharded, state, fingerprint) = try outcome.get()
            #expect(sharded, "rank \(rank) did not shard the update")
            #expect(state.map { $0.map(\.bitPattern) } == reference.map { $0.map(\.bitPattern) }, "rank \(rank)")
            #expect(fingerprint == single.fingerprint(), "rank \(rank)")
        }
    }
}

@Suite struct GradientBucketsTests {
    /// The buckets cut the arena into disjoint pieces of at most 4 MiB that
    /// cover it; small neighbouring layers share one, started with the first of them.
    @Test(arguments: ["784-128:relu-10:softmax", "784-1024:relu-1024:relu-10:softmax", "6-8:tanh:bn-5:prelu-3:softmax"])
    func bucketsPartitionTheArena(model: String) throws {
        let layout = ParameterLayout(try ModelSpec(parsing: model))
        let buckets = GradientBuckets(layout)
        let all = buckets.buckets.flatMap { $0 }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        #expect(all.first?.range.lowerBound == 0 && all.last?.range.upperBound == layout.count)
        for (left, right) in zip(all, all.dropFirst()) { #expect(left.range.upperBound == right.range.lowerBound) }
        #expect(all.allSatisfy { $0.range.count <= GradientBuckets.maximumFloats })
        #expect(Set(all.map(\.id)).count == all.count)
        switch model {
        case "784-1024:relu-1024:relu-10:softmax":
            #expect(buckets.buckets.map(\.count) == [1, 2, 1])
        default:
            // The whole arena is under 512 KiB: one bucket, started when layer 0 is written.
            #expect(buckets.buckets.map(\.count) == [1] + Array(repeating: 0, count: layout.layers.count - 1))
        }
    }
}
