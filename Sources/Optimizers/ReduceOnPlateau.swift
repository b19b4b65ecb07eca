// ReduceOnPlateau: lower the learning rate when a validation metric stops improving.
//
// torch.optim.lr_scheduler.ReduceLROnPlateau with threshold_mode 'rel'
// (https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.ReduceLROnPlateau.html).
// At the end of each epoch, with metric a:
//   improvement  min: a < best·(1 − threshold)    max: a > best·(1 + threshold)
//   if improvement: best ← a, bad ← 0   else: bad ← bad + 1
//   if cooldown > 0: cooldown ← cooldown − 1, bad ← 0     (bad epochs in cooldown are ignored)
//   if bad > patience: lr' = max(lr·factor, min_lr); lr ← lr' when lr − lr' > 1e-8;
//                      cooldown ← cooldown epochs; bad ← 0
// Before the first improvement there is no best (PyTorch's ±inf, which JSON cannot hold):
// any finite metric improves on it. A non-finite metric is never an improvement
// (PyTorch would take −inf in min mode as a new best).
// The state holds the current rate itself, not a factor, because min_lr and the
// 1e-8 rule act on the rate.

/// PyTorch's ReduceLROnPlateau: its hyperparameters; the bookkeeping lives in `State`.
public struct ReduceOnPlateau: Codable, Sendable, Equatable {
    /// Whether the metric should fall (loss) or rise (accuracy).
    public var mode: MonitorMode
    /// The rate is multiplied by this on a plateau, in (0, 1).
    public var factor: Double
    /// Epochs without improvement tolerated; the next one reduces the rate.
    public var patience: Int
    /// Relative change that counts as an improvement.
    public var threshold: Double
    /// Epochs after a reduction during which bad epochs are not counted.
    public var cooldown: Int
    /// The rate is never reduced below this.
    public var minimumLearningRate: Double

    /// Smallest reduction applied; a smaller one (near the minimum) is skipped, as PyTorch's eps.
    public static let minimumReduction = 1e-8

    /// A rule with PyTorch's defaults unless given.
    public init(
        mode: MonitorMode = .minimize, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
        cooldown: Int = 0, minimumLearningRate: Double = 0
    ) {
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minimumLearningRate = minimumLearningRate
    }

    /// What the rule remembers between epochs.
    public struct State: Codable, Sendable, Equatable {
        /// The current learning rate.
        public var learningRate: Double
        /// The best metric so far; nil before the first finite one.
        public var best: Double?
        /// Consecutive epochs without improvement (PyTorch's num_bad_epochs).
        public var badEpochs: Int
        /// Epochs of cooldown left.
        public var cooldownCounter: Int

        /// A state with the given values.
        public init(learningRate: Double, best: Double? = nil, badEpochs: Int = 0, cooldownCounter: Int = 0) {
            self.learningRate = learningRate
            self.best = best
            self.badEpochs = badEpochs
            self.cooldownCounter = cooldownCounter
        }
    }

    /// The state at the start of a run with base rate `learningRate`.
    public func initialState(learningRate: Double) -> State {
        State(learningRate: learningRate)
    }

    /// Whether `metric` counts as an improvement over `best`; see the file header.
    public func isImprovement(_ metric: Double, over best: Double?) -> Bool {
        guard metric.isFinite else { return false }
        guard let best else { return true }
        switch mode {
        case .minimize: return metric < best * (1 - threshold)
        case .maximize: return metric > best * (threshold + 1)
        }
    }

    /// Updates `state` with the metric of the epoch that just ended; see the file header.
    public func observe(metric: Double, state: inout State) {
        if isImprovement(metric, over: state.best) {
            state.best = metric
            state.badEpochs = 0
        } else {
            state.badEpochs += 1
        }
        if state.cooldownCounter > 0 {
            state.cooldownCounter -= 1
            state.badEpochs = 0
        }
        if state.badEpochs > patience {
            let reduced = max(state.learningRate * factor, minimumLearningRate)
            if state.learningRate - reduced > Self.minimumReduction {
                state.learningRate = reduced
            }
            state.cooldownCounter = cooldown
            state.badEpochs = 0
        }
    }

    /// Throws the first hyperparameter outside its range: factor in (0, 1); patience and
    /// cooldown >= 0; threshold and minimum rate finite and >= 0.
    public func validate() throws(HyperparameterError) {
        try HyperparameterError.requireOpenUnitInterval("plateau", "factor", factor)
        try HyperparameterError.requireAtLeast(0, "plateau", "patience", patience)
        try HyperparameterError.requireNonNegative("plateau", "threshold", threshold)
        try HyperparameterError.requireAtLeast(0, "plateau", "cooldown", cooldown)
        try HyperparameterError.requireNonNegative("plateau", "minimumLearningRate", minimumLearningRate)
    }
}
