// The kinds of learning-rate schedule and their closed forms, η₀ the base rate.
//
// torch.optim.lr_scheduler (https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate);
// each formula is PyTorch's `_get_closed_form_lr` or `get_lr`, and whether steps or epochs
// drive it follows PyTorch's docs, which step these once per epoch:
//   constant         η₀
//   step             η₀ · γ^⌊epoch / k⌋                                         (StepLR)
//   multistep        η₀ · γ^(number of milestones ≤ epoch)                      (MultiStepLR)
//   exponential      η₀ · γ^epoch                                               (ExponentialLR)
//   cosine           η_min + (η₀ − η_min)(1 + cos(π·epoch / T_max)) / 2        (CosineAnnealingLR;
//                    not clamped at T_max: like PyTorch's, it rises again after T_max)
//   cosine-restarts  the same with epoch → T_cur, T_max → T_i, where cycle i lasts
//                    T_i = T_0·T_mult^i epochs and T_cur counts epochs since the
//                    last restart                                (CosineAnnealingWarmRestarts)
//   plateau          the rate reduce-on-plateau's state holds (ReduceOnPlateau.swift)
// and these once per batch (step-driven):
//   onecycle         OneCycleLR, two phases, cosine annealing, with η₀ = max_lr:
//                    η_start = η₀/div_factor, η_end = η_start/final_div_factor;
//                    phase 1 ends at step e₁ = pct_start·T − 1, phase 2 at e₂ = T − 1;
//                    step ≤ e₁: anneal(η_start, η₀, step / e₁),
//                    else      anneal(η₀, η_end, (step − e₁) / (e₂ − e₁)),
//                    anneal(a, b, p) = b + (a − b)/2 · (cos(π·p) + 1).
//                    Steps past T − 1 keep η_end (PyTorch raises past T). Momentum is
//                    not cycled: optimizers keep their own. Where PyTorch would divide
//                    by zero (pct_start·T = 1) the phase's one step takes its end value.
//   polynomial       (η₀ − η_end)·(1 − min(step, T)/T)^power + η_end
//                    (Keras PolynomialDecay; PyTorch's PolynomialLR is η_end = 0)
//   linear           polynomial with power 1
// PyTorch's examples step PolynomialLR per epoch; here it decays per step, like
// Keras', so a linear decay over the run is smooth.

import Foundation

extension LearningRateSchedule {
    /// How the learning rate changes over a run; see the file header for each formula.
    public enum Kind: Codable, Sendable, Equatable {
        /// The base rate throughout.
        case constant
        /// × `gamma` every `stepSize` epochs (StepLR).
        case step(stepSize: Int, gamma: Double)
        /// × `gamma` at each of the increasing epochs `milestones` (MultiStepLR).
        case multiStep(milestones: [Int], gamma: Double)
        /// × `gamma` every epoch (ExponentialLR).
        case exponential(gamma: Double)
        /// Half a cosine from the base rate down to `minimumLearningRate` over `epochs`
        /// epochs (CosineAnnealingLR with T_max = epochs, η_min = minimumLearningRate).
        case cosine(epochs: Int, minimumLearningRate: Double)
        /// Cosine annealing restarted after `firstCycleEpochs` epochs, each cycle
        /// `cycleMultiplier` times longer than the last (CosineAnnealingWarmRestarts
        /// with T_0, T_mult, η_min).
        case cosineRestarts(firstCycleEpochs: Int, cycleMultiplier: Int, minimumLearningRate: Double)
        /// One-cycle over `totalSteps` steps peaking at the base rate (OneCycleLR with
        /// pct_start = warmupFraction, div_factor = initialDivisor, final_div_factor = finalDivisor).
        case oneCycle(totalSteps: Int, warmupFraction: Double, initialDivisor: Double, finalDivisor: Double)
        /// Polynomial decay of degree `power` to `endLearningRate` over `totalSteps` steps.
        case polynomial(totalSteps: Int, power: Double, endLearningRate: Double)
        /// Linear decay to `endLearningRate` over `totalSteps` steps.
        case linear(totalSteps: Int, endLearningRate: Double)
        /// Reduce on plateau: the rate drops when the validation metric stops improving.
        case plateau(ReduceOnPlateau)

        /// Whether the rate depends on the epoch (else on the step, or on the state for plateau).
        public var isEpochDriven: Bool {
            switch self {
            case .step, .multiStep, .exponential, .cosine, .cosineRestarts: return true
            case .constant, .oneCycle, .polynomial, .linear, .plateau: return false
            }
        }

        /// The closed form for every kind but `.plateau`, whose rate lives in its state.
        func learningRate(base: Double, step: Int, epoch: Int) -> Double {
            switch self {
            case .constant:
                return base
            case .step(let stepSize, let gamma):
                return base * pow(gamma, Double(epoch / stepSize))
            case .multiStep(let milestones, let gamma):
                return base * pow(gamma, Double(milestones.count { $0 <= epoch }))
            case .exponential(let gamma):
                return base * pow(gamma, Double(epoch))
            case .cosine(let epochs, let minimum):
                return Self.cosineAnnealing(base: base, minimum: minimum, current: epoch, period: epochs)
            case .cosineRestarts(let first, let multiplier, let minimum):
                var current = epoch
                var period = first
                if multiplier == 1 {
                    current %= period
                } else {
                    while current >= period {
                        current -= period
                        period *= multiplier
                    }
                }
                return Self.cosineAnnealing(base: base, minimum: minimum, current: current, period: period)
            case .oneCycle(let totalSteps, let warmupFraction, let initialDivisor, let finalDivisor):
                return Self.oneCycle(
                    peak: base, step: step, totalSteps: totalSteps, warmupFraction: warmupFraction,
                    initialDivisor: initialDivisor, finalDivisor: finalDivisor)
            case .polynomial(let totalSteps, let power, let end):
                return Self.polynomialDecay(base: base, end: end, power: power, step: step, totalSteps: totalSteps)
            case .linear(let totalSteps, let end):
                return Self.polynomialDecay(base: base, end: end, power: 1, step: step, totalSteps: totalSteps)
            case .plateau:
                preconditionFailure("reduce-on-plateau's rate comes from its state")
            }
        }

        private static func cosineAnnealing(base: Double, minimum: Double, current: Int, period: Int) -> Double {
            minimum + (base - minimum) * (1 + cos(Double.pi * Double(current) / Double(period))) / 2
        }

        private static func polynomialDecay(
            base: Double, end: Double, power: Double, step: Int, totalSteps: Int
        ) -> Double {
            (base - end) * pow(1 - Double(min(step, totalSteps)) / Double(totalSteps), power) + end
        }

        private static func oneCycle(
            peak: Double, step: Int, totalSteps: Int, warmupFraction: Double,
            initialDivisor: Double, finalDivisor: Double
        ) -> Double {
            let start = peak / initialDivisor
            let end = start / finalDivisor
            let position = Double(min(step, totalSteps - 1))
            let peakStep = warmupFraction * Double(totalSteps) - 1
            let lastStep = Double(totalSteps - 1)
            func anneal(_ from: Double, _ to: Double, _ startStep: Double, _ endStep: Double) -> Double {
                let span = endStep - startStep
                let fraction = span == 0 ? 1 : (position - startStep) / span
                return to + (from - to) / 2 * (cos(Double.pi * fraction) + 1)
            }
            if position <= peakStep {
                return anneal(start, peak, 0, peakStep)
            }
            return anneal(peak, end, peakStep, lastStep)
        }
    }
}
