// `--schedule` and its parameters: how the learning rate moves over the run.

import ArgumentParser
import Optimizers
import Training

struct ScheduleOptions: ParsableArguments {
    @Option(help: "Learning-rate schedule: \(LearningRateSchedule.Kind.validNames.joined(separator: ", ")).")
    var schedule = "constant"

    @Option(help: "Linear warmup over the first N steps, then the schedule.")
    var warmupSteps: Int?

    @Option(help: "step: epochs between decays; cosine-restarts: epochs of the first cycle.")
    var stepSize: Int?

    @Option(help: "step, multistep, exponential: decay factor γ; plateau: reduction factor.")
    var gamma: Double?

    @Option(help: "multistep: comma-separated epochs at which the rate is multiplied by γ.")
    var milestones: String?

    @Option(help: "cosine, cosine-restarts, plateau: smallest rate; polynomial, linear: final rate.")
    var minLr: Double?

    @Option(help: "cosine-restarts: factor by which each cycle is longer than the last.")
    var cycleMultiplier: Int?

    @Option(help: "onecycle: fraction of the steps spent rising.")
    var pctStart: Double?

    @Option(help: "polynomial: power of the decay.")
    var power: Double?

    @Option(help: "plateau: epochs without improvement before the rate drops.")
    var patience: Int?

    @Option(help: "plateau: epochs to wait after a drop.")
    var cooldown: Int?

    /// The schedule, with the given parameters over the named one's defaults.
    func apply(to config: inout TrainingConfig, totalSteps: Int) throws(CommandFailure) {
        for (option, value) in [("--warmup-steps", warmupSteps), ("--step-size", stepSize), ("--cycle-multiplier", cycleMultiplier)] {
            if let value, value < 1 { throw .usage("\(option) must be at least 1, got \(value)") }
        }
        for (option, value) in [("--patience", patience), ("--cooldown", cooldown)] {
            if let value, value < 0 { throw .usage("\(option) must be zero or positive, got \(value)") }
        }
        if let gamma { try positive("--gamma", gamma) }
        if let minLr { try nonNegative("--min-lr", minLr) }
        if let power { try positive("--power", power) }
        if let pctStart, !(pctStart > 0 && pctStart < 1) { throw .usage("--pct-start must be in (0, 1), got \(pctStart)") }
        var kind: LearningRateSchedule.Kind
        do {
            kind = try LearningRateSchedule.Kind.named(schedule, totalSteps: totalSteps, totalEpochs: config.epochs)
        } catch {
            throw .usage(error.description)
        }
        switch kind {
        case .constant: break
        case .step(let size, let g): kind = .step(stepSize: stepSize ?? size, gamma: gamma ?? g)
        case .multiStep(let stones, let g):
            var parsed = stones
            if let milestones {
                let values = milestones.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard values.allSatisfy({ $0 != nil }) else {
                    throw .usage("--milestones '\(milestones)': expected comma-separated epochs such as 30,80")
                }
                parsed = values.compactMap { $0 }
            }
            kind = .multiStep(milestones: parsed, gamma: gamma ?? g)
        case .exponential(let g): kind = .exponential(gamma: gamma ?? g)
        case .cosine(let epochs, let minimum): kind = .cosine(epochs: epochs, minimumLearningRate: minLr ?? minimum)
        case .cosineRestarts(let first, let multiplier, let minimum):
            kind = .cosineRestarts(
                firstCycleEpochs: stepSize ?? first, cycleMultiplier: cycleMultiplier ?? multiplier,
                minimumLearningRate: minLr ?? minimum)
        case .oneCycle(let steps, let fraction, let initial, let final):
            kind = .oneCycle(totalSteps: steps, warmupFraction: pctStart ?? fraction, initialDivisor: initial, finalDivisor: final)
        case .polynomial(let steps, let p, let end):
            kind = .polynomial(totalSteps: steps, power: power ?? p, endLearningRate: minLr ?? end)
        case .linear(let steps, let end): kind = .linear(totalSteps: steps, endLearningRate: minLr ?? end)
        case .plateau(var rule):
            rule.mode = config.monitor.mode
            if let gamma { rule.factor = gamma }
            if let patience { rule.patience = patience }
            if let cooldown { rule.cooldown = cooldown }
            if let minLr { rule.minimumLearningRate = minLr }
            kind = .plateau(rule)
        }
        config.schedule = kind
        if let warmupSteps { config.warmup = LearningRateSchedule.Warmup(steps: warmupSteps) }
    }
}
