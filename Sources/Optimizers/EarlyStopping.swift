// EarlyStopping: stop training when a validation metric has not improved for
// `patience` epochs, and remember which epoch was best.
//
// Keras' EarlyStopping callback (https://keras.io/api/callbacks/early_stopping/),
// at the end of each epoch with metric a:
//   bad ← bad + 1
//   improvement  min: a + min_delta < best      max: a − min_delta > best
//   if improvement: best ← a, best epoch ← epoch, bad ← 0, continue
//   else if bad ≥ patience: stop
// So patience 0 stops at the first epoch that does not improve. Before the first
// improvement there is no best: any finite metric improves on it. A non-finite
// metric never improves (Keras compares with NaN the same way). The trainer agrees
// on the decision across ranks (DESIGN.md decision 4) and restores the weights of
// `bestEpoch` when it stops.

/// Keras' early-stopping rule and its bookkeeping, as one Codable value a checkpoint stores.
public struct EarlyStopping: Codable, Sendable, Equatable {
    /// What `observe` tells the trainer to do.
    public enum Decision: Sendable, Equatable {
        /// Train another epoch.
        case `continue`
        /// Stop now and restore the weights of `bestEpoch`.
        case stop
    }

    /// Epochs without improvement tolerated before stopping.
    public let patience: Int
    /// An improvement must beat the best by more than this.
    public let minDelta: Double
    /// Whether the metric should fall (loss) or rise (accuracy).
    public let mode: MonitorMode
    /// The best metric so far; nil before the first finite one.
    public private(set) var best: Double?
    /// The epoch that gave `best`; nil before the first finite metric.
    public private(set) var bestEpoch: Int?
    /// Consecutive epochs without improvement (Keras' wait).
    public private(set) var badEpochs = 0

    /// A rule that has seen no epoch yet.
    public init(patience: Int, minDelta: Double = 0, mode: MonitorMode = .minimize) {
        self.patience = patience
        self.minDelta = minDelta
        self.mode = mode
    }

    /// Whether `metric` counts as an improvement on the best so far; see the file header.
    public func isImprovement(_ metric: Double) -> Bool {
        guard metric.isFinite else { return false }
        guard let best else { return true }
        switch mode {
        case .minimize: return metric + minDelta < best
        case .maximize: return metric - minDelta > best
        }
    }

    /// Records the metric of `epoch` (0-based), which just ended, and decides whether to go on.
    public mutating func observe(metric: Double, epoch: Int) -> Decision {
        badEpochs += 1
        if isImprovement(metric) {
            best = metric
            bestEpoch = epoch
            badEpochs = 0
            return .continue
        }
        return badEpochs >= patience ? .stop : .continue
    }

    /// Throws when patience < 0 or minDelta is negative or not finite.
    public func validate() throws(HyperparameterError) {
        try HyperparameterError.requireAtLeast(0, "early-stopping", "patience", patience)
        try HyperparameterError.requireNonNegative("early-stopping", "minDelta", minDelta)
    }
}
