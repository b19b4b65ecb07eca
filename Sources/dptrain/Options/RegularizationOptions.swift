// Weight decay, L1, clipping, max-norm, early stopping and the validation split.

import ArgumentParser
import Optimizers
import Training

struct RegularizationOptions: ParsableArguments {
    @Option(help: "Weight decay λ: decoupled for adamw, coupled L2 (λ·w added to the gradient) for the other optimizers. Biases and slopes are not decayed.")
    var weightDecay: Float = 0

    @Option(help: "L1 penalty λ (λ·sign(w) added to the weights' gradient).")
    var l1: Float = 0

    @Option(help: "Dropout rate p for every hidden layer without its own (spec: 256:relu:dropout(0.2)); batch norm is a spec option too (256:relu:bn).")
    var dropout: Float?

    @Option(help: "Clip the gradient to this global L2 norm.")
    var clipNorm: Double?

    @Option(help: "Clip every gradient element to [-v, v].")
    var clipValue: Float?

    @Option(help: "Max-norm constraint c on every neuron's incoming weights (applied after each update).")
    var maxNorm: Double?

    @Option(help: "Stop when the monitored validation metric has not improved for N epochs, and restore the best weights.")
    var earlyStopping: Int?

    @Option(help: "Smallest change of the monitored metric that counts as an improvement.")
    var minDelta: Double = 0

    @Option(help: "Validation metric for early stopping and the plateau schedule: loss or accuracy.")
    var monitor = "loss"

    @Option(help: "Fraction of the training rows held out for validation.")
    var validationSplit: Double = 0

    /// Applies these settings to `config` (whose optimizer is already chosen).
    func apply(to config: inout TrainingConfig) throws(CommandFailure) {
        try nonNegative("--weight-decay", Double(weightDecay))
        try nonNegative("--l1", Double(l1))
        try nonNegative("--min-delta", minDelta)
        if let clipNorm { try positive("--clip-norm", clipNorm) }
        if let clipValue { try positive("--clip-value", Double(clipValue)) }
        if let maxNorm { try positive("--max-norm", maxNorm) }
        if let earlyStopping, earlyStopping < 0 { throw .usage("--early-stopping must be zero or positive, got \(earlyStopping)") }
        guard let metric = MonitoredMetric(rawValue: monitor) else {
            throw .usage("--monitor '\(monitor)': valid: loss, accuracy")
        }
        config.monitor = metric
        if weightDecay != 0 {
            if case .adamW(let beta1, let beta2, let epsilon, _, let amsgrad) = config.optimizer {
                config.optimizer = .adamW(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
            } else {
                config.penalty.l2 = weightDecay
            }
        }
        config.penalty.l1 = l1
        if clipNorm != nil && clipValue != nil { throw .usage("--clip-norm and --clip-value exclude each other; pass one") }
        if let clipNorm { config.clipping = .byNorm(maxNorm: clipNorm) }
        if let clipValue { config.clipping = .byValue(limit: clipValue) }
        if let maxNorm { config.maxNorm = MaxNormConstraint(maxNorm: maxNorm) }
        if let earlyStopping { config.earlyStopping = EarlyStopping(patience: earlyStopping, minDelta: minDelta, mode: metric.mode) }
        config.validationSplit = validationSplit
        if let dropout {
            do { config.model = try config.model.withDropout(dropout) } catch { throw .usage(error.description) }
        }
    }
}

/// Fails unless `value` is a finite number > 0.
func positive(_ option: String, _ value: Double) throws(CommandFailure) {
    if !(value > 0 && value.isFinite) { throw .usage("\(option) must be a positive number, got \(value)") }
}

/// Fails unless `value` is a finite number ≥ 0.
func nonNegative(_ option: String, _ value: Double) throws(CommandFailure) {
    if !(value >= 0 && value.isFinite) { throw .usage("\(option) must be zero or a positive number, got \(value)") }
}
