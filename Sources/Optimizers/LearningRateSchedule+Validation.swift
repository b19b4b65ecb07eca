// Checks of a schedule a user wrote: each hyperparameter in its range, and nothing
// asking for more steps or epochs than the run has. Each failure is a one-line
// `HyperparameterError` (DESIGN.md decision 8).
//
// Ranges: rates finite, the base > 0 and minimum/end rates >= 0; γ finite and > 0;
// step sizes, periods and step counts >= 1; milestones increasing and >= 1;
// T_mult >= 1 (PyTorch's integer T_mult); pct_start in (0, 1) (PyTorch accepts
// 0 and 1, where its second phase divides by zero); divisors and power finite and
// > 0; warmup steps >= 1 with start factor in [0, 1]; plateau as in ReduceOnPlateau.

extension LearningRateSchedule {
    /// Throws the first hyperparameter outside its range.
    public func validate() throws(HyperparameterError) {
        let setting = kind.name
        try HyperparameterError.requirePositive(setting, "baseLearningRate", baseLearningRate)
        switch kind {
        case .constant:
            break
        case .step(let stepSize, let gamma):
            try HyperparameterError.requireAtLeast(1, setting, "stepSize", stepSize)
            try HyperparameterError.requirePositive(setting, "gamma", gamma)
        case .multiStep(let milestones, let gamma):
            let increasing = zip(milestones, milestones.dropFirst()).allSatisfy { $0 < $1 }
            if !increasing || (milestones.first ?? 1) < 1 {
                throw .invalidParameter(
                    setting: setting, parameter: "milestones", value: "\(milestones)",
                    requirement: "increasing epochs >= 1")
            }
            try HyperparameterError.requirePositive(setting, "gamma", gamma)
        case .exponential(let gamma):
            try HyperparameterError.requirePositive(setting, "gamma", gamma)
        case .cosine(let epochs, let minimum):
            try HyperparameterError.requireAtLeast(1, setting, "epochs", epochs)
            try HyperparameterError.requireNonNegative(setting, "minimumLearningRate", minimum)
        case .cosineRestarts(let first, let multiplier, let minimum):
            try HyperparameterError.requireAtLeast(1, setting, "firstCycleEpochs", first)
            try HyperparameterError.requireAtLeast(1, setting, "cycleMultiplier", multiplier)
            try HyperparameterError.requireNonNegative(setting, "minimumLearningRate", minimum)
        case .oneCycle(let totalSteps, let warmupFraction, let initialDivisor, let finalDivisor):
            try HyperparameterError.requireAtLeast(1, setting, "totalSteps", totalSteps)
            try HyperparameterError.requireOpenUnitInterval(setting, "warmupFraction", warmupFraction)
            try HyperparameterError.requirePositive(setting, "initialDivisor", initialDivisor)
            try HyperparameterError.requirePositive(setting, "finalDivisor", finalDivisor)
        case .polynomial(let totalSteps, let power, let end):
            try HyperparameterError.requireAtLeast(1, setting, "totalSteps", totalSteps)
            try HyperparameterError.requirePositive(setting, "power", power)
            try HyperparameterError.requireNonNegative(setting, "endLearningRate", end)
        case .linear(let totalSteps, let end):
            try HyperparameterError.requireAtLeast(1, setting, "totalSteps", totalSteps)
            try HyperparameterError.requireNonNegative(setting, "endLearningRate", end)
        case .plateau(let rule):
            try rule.validate()
        }
        if let warmup {
            try HyperparameterError.requireAtLeast(1, "warmup", "steps", warmup.steps)
            if !(warmup.startFactor >= 0 && warmup.startFactor <= 1) {
                throw .invalidParameter(
                    setting: "warmup", parameter: "startFactor", value: "\(warmup.startFactor)",
                    requirement: "in [0, 1]")
            }
        }
    }

    /// `validate()`, then throws when the warmup, a one-cycle or polynomial/linear decay
    /// needs more than the run's `totalSteps` steps, or cosine's T_max more than its
    /// `totalEpochs` epochs.
    public func validate(totalSteps: Int, totalEpochs: Int) throws(HyperparameterError) {
        try validate()
        if let warmup, warmup.steps > totalSteps {
            throw .exceedsRun(setting: "--warmup-steps", requested: warmup.steps, available: totalSteps, unit: "steps")
        }
        switch kind {
        case .oneCycle(let steps, _, _, _), .polynomial(let steps, _, _), .linear(let steps, _):
            if steps > totalSteps {
                throw .exceedsRun(
                    setting: "\(kind.name) totalSteps", requested: steps, available: totalSteps, unit: "steps")
            }
        case .cosine(let epochs, _):
            if epochs > totalEpochs {
                throw .exceedsRun(setting: "cosine epochs", requested: epochs, available: totalEpochs, unit: "epochs")
            }
        default:
            break
        }
    }
}
