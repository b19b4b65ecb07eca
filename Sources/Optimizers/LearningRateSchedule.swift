// LearningRateSchedule: the learning rate of every step as a pure function of
// (global step, epoch, the schedule's own small state), optionally under a
// linear warmup.
//
// A schedule is plain Codable data, and so is its state, so a checkpoint stores
// both and a resumed run computes exactly the rates the uninterrupted run would
// have (DESIGN.md decisions 3 and 5). Only reduce-on-plateau has state; every
// other kind is a closed form of the step or the epoch (see
// LearningRateSchedule+Kind.swift for the formulas and which of the two drives each).
//
// Conventions:
//   step   the number of optimizer updates already applied (0 for the first update);
//   epoch  the 0-based epoch the step belongs to.
// An epoch-driven schedule is PyTorch's scheduler stepped once per epoch: epoch e
// uses the value PyTorch's scheduler holds after e calls to `scheduler.step()`.
// A step-driven one is stepped once per batch in the same way.
//
// Warmup (`--warmup-steps N`, start factor s ∈ [0, 1], default 0) multiplies the
// wrapped schedule by PyTorch's LinearLR factor
//   w(step) = s + (1 − s) · min(step, N) / N
// (https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.LinearLR.html),
// so step 0 runs at s·lr, step N and later at the full rate. The wrapped schedule is
// not shifted: it runs on the same step and epoch throughout, and from step N on the
// rate is exactly the wrapped schedule's. This is PyTorch's
//   ChainedScheduler([LinearLR(opt, start_factor=s, total_iters=N), schedule])
// with LinearLR stepped per batch (PyTorch's LinearLR refuses s = 0; here 0 is allowed
// and means the first update applies no step).

import Foundation

/// A base learning rate, how it changes over the run, and an optional warmup.
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    /// The rate the schedule starts from (the peak `max_lr` for one-cycle).
    public var baseLearningRate: Double
    /// How the rate changes over steps or epochs.
    public var kind: Kind
    /// A linear ramp over the first steps, multiplying the scheduled rate; nil for none.
    public var warmup: Warmup?

    /// A schedule starting from `baseLearningRate`.
    public init(baseLearningRate: Double, kind: Kind = .constant, warmup: Warmup? = nil) {
        self.baseLearningRate = baseLearningRate
        self.kind = kind
        self.warmup = warmup
    }

    /// A linear warmup: the rate is multiplied by s + (1 − s)·min(step, steps)/steps.
    public struct Warmup: Codable, Sendable, Equatable {
        /// Steps over which the factor rises to 1 (`--warmup-steps`).
        public var steps: Int
        /// The factor s of step 0, in [0, 1].
        public var startFactor: Double

        /// A warmup over `steps` steps starting at `startFactor` times the rate.
        public init(steps: Int, startFactor: Double = 0) {
            self.steps = steps
            self.startFactor = startFactor
        }

        /// The factor applied at `step`; 1 from `steps` on.
        public func factor(step: Int) -> Double {
            startFactor + (1 - startFactor) * Double(min(step, steps)) / Double(steps)
        }
    }

    /// What a schedule remembers between epochs; checkpoints store it.
    public struct State: Codable, Sendable, Equatable {
        /// Reduce-on-plateau's bookkeeping; nil for every other kind.
        public var plateau: ReduceOnPlateau.State?

        /// A state holding `plateau`.
        public init(plateau: ReduceOnPlateau.State? = nil) {
            self.plateau = plateau
        }
    }

    /// The state at the start of a run.
    public func initialState() -> State {
        if case .plateau(let rule) = kind {
            return State(plateau: rule.initialState(learningRate: baseLearningRate))
        }
        return State()
    }

    /// The learning rate of the update at `step` (updates already applied) in `epoch` (0-based).
    /// Convert with `Float(_:)` for `Optimizer.update`.
    public func learningRate(step: Int, epoch: Int, state: State) -> Double {
        precondition(step >= 0 && epoch >= 0, "learning rate asked for step \(step), epoch \(epoch)")
        let scheduled: Double
        if case .plateau = kind {
            guard let plateau = state.plateau else {
                preconditionFailure("a plateau schedule needs the state from initialState()")
            }
            scheduled = plateau.learningRate
        } else {
            scheduled = kind.learningRate(base: baseLearningRate, step: step, epoch: epoch)
        }
        guard let warmup else { return scheduled }
        return scheduled * warmup.factor(step: step)
    }

    /// Feeds the validation metric of the epoch that just ended to the schedule; only
    /// reduce-on-plateau reacts, so the trainer may call this for every kind.
    public func observe(metric: Double, state: inout State) {
        guard case .plateau(let rule) = kind else { return }
        guard var plateau = state.plateau else {
            preconditionFailure("a plateau schedule needs the state from initialState()")
        }
        rule.observe(metric: metric, state: &plateau)
        state.plateau = plateau
    }
}
