// ReferenceSchedules: PyTorch's schedulers again, in Double, in the recursive
// ("chainable") form `scheduler.step()` uses — each value computed from the one
// before, not from the closed forms the library evaluates — plus the helpers the
// schedule tests share. Sources: torch/optim/lr_scheduler.py, the `get_lr` methods.

import Foundation
import Optimizers

/// Learning rates of epochs (or steps) 0..<count, each PyTorch scheduler stepped once per index.
enum ReferenceSchedules {
    /// StepLR: × γ whenever the index is a positive multiple of `stepSize`.
    static func stepLR(base: Double, stepSize: Int, gamma: Double, count: Int) -> [Double] {
        chain(base: base, count: count) { lr, epoch in epoch % stepSize == 0 ? lr * gamma : lr }
    }

    /// MultiStepLR: × γ at each milestone.
    static func multiStepLR(base: Double, milestones: [Int], gamma: Double, count: Int) -> [Double] {
        chain(base: base, count: count) { lr, epoch in milestones.contains(epoch) ? lr * gamma : lr }
    }

    /// ExponentialLR: × γ every index.
    static func exponentialLR(base: Double, gamma: Double, count: Int) -> [Double] {
        chain(base: base, count: count) { lr, _ in lr * gamma }
    }

    /// CosineAnnealingLR's recursive form, including its branch past T_max.
    static func cosineAnnealingLR(base: Double, tMax: Int, etaMin: Double, count: Int) -> [Double] {
        let t = Double(tMax)
        return chain(base: base, count: count) { lr, epoch in
            if (epoch - 1 - tMax) % (2 * tMax) == 0 {
                return lr + (base - etaMin) * (1 - cos(Double.pi / t)) / 2
            }
            return (1 + cos(Double.pi * Double(epoch) / t)) / (1 + cos(Double.pi * Double(epoch - 1) / t))
                * (lr - etaMin) + etaMin
        }
    }

    /// CosineAnnealingWarmRestarts stepped without an epoch argument: T_cur counts up and
    /// wraps at T_i, which then grows by T_mult.
    static func cosineWarmRestarts(base: Double, t0: Int, tMult: Int, etaMin: Double, count: Int) -> [Double] {
        var tCur = 0
        var tI = t0
        var rates: [Double] = []
        for epoch in 0..<count {
            if epoch > 0 {
                tCur += 1
                if tCur >= tI {
                    tCur %= tI
                    tI *= tMult
                }
            }
            rates.append(etaMin + (base - etaMin) * (1 + cos(Double.pi * Double(tCur) / Double(tI))) / 2)
        }
        return rates
    }

    /// OneCycleLR.get_lr (two phases, 'cos'), phase by phase as PyTorch walks them.
    static func oneCycleLR(
        maxLR: Double, totalSteps: Int, pctStart: Double, divFactor: Double, finalDivFactor: Double, count: Int
    ) -> [Double] {
        let initialLR = maxLR / divFactor
        let minLR = initialLR / finalDivFactor
        let phases: [(endStep: Double, startLR: Double, endLR: Double)] = [
            (pctStart * Double(totalSteps) - 1, initialLR, maxLR),
            (Double(totalSteps - 1), maxLR, minLR),
        ]
        return (0..<count).map { stepNumber in
            var startStep = 0.0
            for (index, phase) in phases.enumerated() {
                if Double(stepNumber) <= phase.endStep || index == phases.count - 1 {
                    let pct = (Double(stepNumber) - startStep) / (phase.endStep - startStep)
                    let cosOut = cos(Double.pi * pct) + 1
                    return phase.endLR + (phase.startLR - phase.endLR) / 2 * cosOut
                }
                startStep = phase.endStep
            }
            fatalError("unreachable: the last phase always matches")
        }
    }

    /// PolynomialLR's recursive form (decays to 0).
    static func polynomialLR(base: Double, totalIters: Int, power: Double, count: Int) -> [Double] {
        let t = Double(totalIters)
        return chain(base: base, count: count) { lr, step in
            if step > totalIters { return lr }
            return lr * pow((1 - Double(step) / t) / (1 - Double(step - 1) / t), power)
        }
    }

    /// LinearLR's recursive form from `startFactor` to 1 over `totalIters`; needs startFactor > 0.
    static func linearLR(base: Double, startFactor: Double, totalIters: Int, count: Int) -> [Double] {
        var rates = [base * startFactor]
        for step in 1..<max(count, 1) {
            let lr = rates[step - 1]
            if step > totalIters {
                rates.append(lr)
            } else {
                rates.append(
                    lr
                        * (1 + (1 - startFactor)
                            / (Double(totalIters) * startFactor + Double(step - 1) * (1 - startFactor)))
                )
            }
        }
        return Array(rates.prefix(count))
    }

    /// rates[0] = base, rates[i] = next(rates[i − 1], i).
    private static func chain(base: Double, count: Int, _ next: (Double, Int) -> Double) -> [Double] {
        var rates = [base]
        for index in 1..<max(count, 1) { rates.append(next(rates[index - 1], index)) }
        return Array(rates.prefix(count))
    }
}

/// PyTorch's ReduceLROnPlateau (threshold_mode 'rel') as written there, with best starting at ±inf.
struct ReferencePlateau {
    let mode: MonitorMode
    let factor: Double
    let patience: Int
    let threshold: Double
    let cooldown: Int
    let minLR: Double
    var lr: Double
    var best: Double
    var numBadEpochs = 0
    var cooldownCounter = 0

    init(_ rule: ReduceOnPlateau, lr: Double) {
        mode = rule.mode
        factor = rule.factor
        patience = rule.patience
        threshold = rule.threshold
        cooldown = rule.cooldown
        minLR = rule.minimumLearningRate
        self.lr = lr
        best = rule.mode == .minimize ? .infinity : -.infinity
    }

    mutating func step(_ current: Double) {
        let isBetter = mode == .minimize ? current < best * (1 - threshold) : current > best * (threshold + 1)
        if isBetter {
            best = current
            numBadEpochs = 0
        } else {
            numBadEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            numBadEpochs = 0
        }
        if numBadEpochs > patience {
            let newLR = max(lr * factor, minLR)
            if lr - newLR > 1e-8 { lr = newLR }
            cooldownCounter = cooldown
            numBadEpochs = 0
        }
    }
}

/// The rates of steps 0..<steps with `stepsPerEpoch` steps per epoch, a plateau-free schedule.
func rates(_ schedule: LearningRateSchedule, steps: Int, stepsPerEpoch: Int = 1) -> [Double] {
    let state = schedule.initialState()
    return (0..<steps).map { schedule.learningRate(step: $0, epoch: $0 / stepsPerEpoch, state: state) }
}

/// Largest |a − e| / max(|e|, tiny) over the pairs.
func relativeError(_ actual: [Double], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count, "\(actual.count) values against \(expected.count)")
    return zip(actual, expected).map { abs($0 - $1) / max(abs($1), 1e-300) }.max() ?? 0
}

/// The description of the HyperparameterError `body` throws, or nil when it does not throw.
func hyperparameterMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as HyperparameterError {
        return error.description
    } catch {
        return "not a HyperparameterError: \(error)"
    }
}
