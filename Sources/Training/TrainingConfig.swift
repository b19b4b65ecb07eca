// TrainingConfig: everything that determines a run's result, as plain data.
// Two runs with equal configs (and the same data) produce the same weights,
// bit for bit, whatever the thread count (DESIGN.md 3).

import Engine
import Layers
import Optimizers

/// What happens to the rows left over when the training set is not a multiple of the global batch.
public enum LastBatchPolicy: String, Codable, Sendable, CaseIterable {
    /// Skip them (every step has exactly B rows).
    case drop
    /// Run one more, smaller step; the missing rows are masked out (never duplicated).
    case keep
}

/// A validation metric to watch.
public enum MonitoredMetric: String, Codable, Sendable, CaseIterable {
    case loss
    case accuracy

    /// Whether smaller is better.
    public var mode: MonitorMode { self == .loss ? .minimize : .maximize }
}

/// The settings of one training run.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// The network.
    public var model: ModelSpec
    /// The loss; defaults to the head's natural loss.
    public var loss: Loss
    /// Passes over the training set.
    public var epochs: Int
    /// Rows per optimizer step over all ranks (B).
    public var globalBatchSize: Int
    /// Rows per GEMM call (m); B must be a multiple of it.
    public var microBatchSize: Int
    /// The update rule.
    public var optimizer: OptimizerConfig
    /// Step size.
    public var learningRate: Float
    /// Seed of every random draw (initialisation, shuffles).
    public var seed: UInt64
    /// Weight initialiser for every layer; nil picks He or Xavier per activation.
    public var initializer: Initializer?
    /// Rows per evaluation call; fixed so that metrics do not depend on threads.
    public var evaluationBatchSize: Int
    /// The last partial batch of an epoch: dropped or kept with masked rows.
    public var lastBatch: LastBatchPolicy
    /// How the learning rate moves from `learningRate` over the run.
    public var schedule: LearningRateSchedule.Kind = .constant
    /// Linear warmup composed with the schedule.
    public var warmup: LearningRateSchedule.Warmup?
    /// Gradient clipping (by global norm or by value), before penalties and the update.
    public var clipping: GradientClipping?
    /// Coupled L2 (λ·w) and L1 (λ·sign w) penalties on the weights (not biases, slopes or norm parameters).
    public var penalty = WeightPenalty()
    /// Max-norm constraint on every neuron's incoming weights, after each update.
    public var maxNorm: MaxNormConstraint?
    /// Early stopping on the validation metric; the best weights are restored at the end.
    public var earlyStopping: EarlyStopping?
    /// The validation metric early stopping and reduce-on-plateau watch.
    public var monitor: MonitoredMetric = .loss
    /// Fraction of the training rows held out for validation (0: none).
    public var validationSplit: Double = 0
    /// Standardise every feature with the training rows' mean and standard deviation.
    public var standardize = false

    public init(
        model: ModelSpec, loss: Loss? = nil, epochs: Int, globalBatchSize: Int, microBatchSize: Int? = nil,
        optimizer: OptimizerConfig, learningRate: Float, seed: UInt64, initializer: Initializer? = nil,
        evaluationBatchSize: Int = 500, lastBatch: LastBatchPolicy = .drop
    ) {
        self.model = model
        self.loss = loss ?? model.head.defaultLoss
        self.epochs = epochs
        self.globalBatchSize = globalBatchSize
        self.microBatchSize = microBatchSize ?? globalBatchSize
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.seed = seed
        self.initializer = initializer
        self.evaluationBatchSize = evaluationBatchSize
        self.lastBatch = lastBatch
    }

    /// Micro-batches per global batch (G = B / m).
    public var microBatchCount: Int { globalBatchSize / microBatchSize }

    /// Checks the numbers a user can get wrong; `worldSize` is the number of
    /// ranks, which must be a power of two for the deterministic reduction.
    public func validate(worldSize: Int = 1, deterministicReduction: Bool = true) throws(TrainingError) {
        if epochs <= 0 { throw .invalidOption("--epochs must be positive, got \(epochs)") }
        if globalBatchSize <= 0 { throw .invalidOption("--batch-size must be positive, got \(globalBatchSize)") }
        if microBatchSize <= 0 { throw .invalidOption("--micro-batch must be positive, got \(microBatchSize)") }
        if globalBatchSize % microBatchSize != 0 {
            throw .invalidOption(
                "--batch-size \(globalBatchSize) is not a multiple of --micro-batch \(microBatchSize)")
        }
        if !(learningRate > 0) || !learningRate.isFinite {
            throw .invalidOption("--lr must be a positive number, got \(learningRate)")
        }
        if evaluationBatchSize <= 0 {
            throw .invalidOption("evaluation batch size must be positive, got \(evaluationBatchSize)")
        }
        if !model.head.accepts(loss) {
            let valid = Loss.allNames.filter { name in Loss(name: name).map(model.head.accepts) ?? false }
            throw .invalidOption(
                "loss '\(loss.name)' does not fit the \(model.head.rawValue) output; use \(valid.joined(separator: " or "))")
        }
        let g = microBatchCount
        let powerOfTwo = worldSize & (worldSize - 1) == 0
        if g % worldSize != 0 || (deterministicReduction && !powerOfTwo) {
            let valid = (1...g).filter { g % $0 == 0 && (!deterministicReduction || $0 & ($0 - 1) == 0) }
            let listing = "valid world sizes: " + valid.map(String.init).joined(separator: ", ")
            if g % worldSize != 0 {
                throw .invalidOption(
                    "world size \(worldSize) does not divide the \(g) micro-batches of a global batch "
                        + "(batch \(globalBatchSize) / micro-batch \(microBatchSize)); \(listing)")
            }
            throw .invalidOption(
                "world size \(worldSize) is not a power of two, which the deterministic reduction needs; "
                    + "\(listing), or pass --reduction mpi")
        }
        do { try optimizer.validate() } catch { throw .invalidOption(error.description) }
        do { try model.validate(microBatchSize: microBatchSize) } catch { throw .invalidOption(error.description) }
        if model.usesBatchNormalization && lastBatch == .keep {
            throw .invalidOption(
                "--last-batch keep cannot be used with batch normalization (masked rows would enter the batch statistics); use --last-batch drop")
        }
        if !(validationSplit >= 0 && validationSplit < 1) {
            throw .invalidOption("--validation-split must be in [0, 1), got \(validationSplit)")
        }
        do throws(HyperparameterError) {
            try learningRateSchedule.validate()
            try clipping?.validate()
            try penalty.validate()
            try maxNorm?.validate()
            try earlyStopping?.validate()
        } catch {
            throw .invalidOption(error.description)
        }
        if case .plateau(let rule) = schedule, rule.mode != monitor.mode {
            throw .invalidOption("the plateau schedule must watch the --monitor metric \(monitor.rawValue) in mode \(monitor.mode.rawValue)")
        }
        if earlyStopping != nil && validationSplit == 0 {
            throw .invalidOption("--early-stopping needs validation data; pass --validation-split, e.g. 0.1")
        }
    }

    /// Checks that the schedule fits a run of `steps` steps over `epochs` epochs.
    public func validate(runSteps steps: Int) throws(TrainingError) {
        do { try learningRateSchedule.validate(totalSteps: steps, totalEpochs: epochs) } catch {
            throw .invalidOption(error.description)
        }
    }

    /// The schedule starting from `learningRate`.
    public var learningRateSchedule: LearningRateSchedule {
        LearningRateSchedule(baseLearningRate: Double(learningRate), kind: schedule, warmup: warmup)
    }
}

extension Loss {
    /// Names accepted by `--loss`.
    public static let allNames = [
        "cross-entropy", "bce", "mse", "mae", "huber", "smooth-l1", "hinge", "multiclass-hinge",
    ]

    /// The loss a name stands for: one of `allNames`, `huber(δ)` or `smooth-l1(β)`.
    public init?(name text: String) {
        let name = text.lowercased()
        func parameter(_ prefix: String) -> Float? {
            guard name.hasPrefix(prefix + "("), name.hasSuffix(")") else { return nil }
            let inside = name.dropFirst(prefix.count + 1).dropLast()
            guard let value = Float(inside), value > 0, value.isFinite else { return nil }
            return value
        }
        switch name {
        case "cross-entropy", "ce", "crossentropy": self = .crossEntropy
        case "bce", "binary-cross-entropy": self = .binaryCrossEntropy
        case "mse": self = .meanSquaredError
        case "mae": self = .meanAbsoluteError
        case "huber": self = .huber(delta: 1)
        case "smooth-l1": self = .smoothL1(beta: 1)
        case "hinge": self = .hinge
        case "multiclass-hinge": self = .multiclassHinge
        default:
            if let delta = parameter("huber") {
                self = .huber(delta: delta)
            } else if let beta = parameter("smooth-l1") {
                self = .smoothL1(beta: beta)
            } else {
                return nil
            }
        }
    }
}
