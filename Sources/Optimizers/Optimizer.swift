// Optimizer: one update of the whole parameter arena from its mean gradient.
//
// Parameters, gradients and every state buffer share the arena's flat layout
// (DESIGN.md decision 1), so an update is one elementwise loop cut into fixed
// ranges on the pool. Every element gets the same formula whichever thread runs
// its range, so the result does not depend on the thread count (decision 3).
// The formulas are PyTorch's, https://pytorch.org/docs/stable/optim.html.

import Engine

/// Applies gradient steps to a flat parameter arena and owns the state that needs.
public protocol Optimizer: AnyObject {
    /// Arena-shaped state buffers in the order each type documents; a checkpoint
    /// saves them and a resume copies saved values into them.
    var state: [FloatBuffer] { get }
    /// Updates applied so far; Adam's bias correction uses it, a resume restores it.
    var stepCount: Int { get set }
    /// Floats of the arena.
    var parameterCount: Int { get }
    /// Applies the step numbered `stepCount + 1` with `learningRate` to the
    /// elements `range` of `parameters` (N), using `gradients` (N), the mean
    /// over the global batch, without counting the step. Elements outside
    /// `range`, state included, are not touched, so the ranks of a job can
    /// each apply one part of a step (then `stepCount += 1` on every rank).
    func apply(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, range: Range<Int>, pool: ThreadPool)
}

extension Optimizer {
    /// Applies one step to the whole arena and increments `stepCount`.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, pool: ThreadPool) {
        apply(parameters: parameters, gradients: gradients, learningRate: learningRate, range: 0..<parameterCount,
              pool: pool)
        stepCount += 1
    }
}

/// The optimizer `config` describes, with zeroed (AdaGrad: initial-accumulator) state
/// for an arena of `parameterCount` floats. `config` must already have passed `validate()`.
public func makeOptimizer(_ config: OptimizerConfig, parameterCount: Int) -> any Optimizer {
    do {
        try config.validate()
    } catch {
        preconditionFailure("makeOptimizer needs a validated config: \(error)")
    }
    switch config {
    case .sgd(let momentum, let nesterov):
        return SGD(parameterCount: parameterCount, momentum: momentum, nesterov: nesterov)
    case .adam(let beta1, let beta2, let epsilon, let amsgrad):
        return Adam(
            parameterCount: parameterCount, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: 0,
            amsgrad: amsgrad)
    case .adamW(let beta1, let beta2, let epsilon, let weightDecay, let amsgrad):
        return Adam(
            parameterCount: parameterCount, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, amsgrad: amsgrad)
    case .rmsprop(let alpha, let epsilon, let momentum):
        return RMSprop(parameterCount: parameterCount, alpha: alpha, epsilon: epsilon, momentum: momentum)
    case .adagrad(let epsilon, let initialAccumulator):
        return Adagrad(parameterCount: parameterCount, epsilon: epsilon, initialAccumulator: initialAccumulator)
    }
}

/// Checks an `update` call against the arena size the optimizer was built for.
func checkUpdateArguments(
    parameterCount: Int, parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, range: Range<Int>
) {
    precondition(range.lowerBound >= 0 && range.upperBound <= parameterCount,
                 "update range \(range) outside the arena of \(parameterCount) parameters")
    precondition(
        parameters.count == parameterCount,
        "optimizer built for \(parameterCount) parameters got \(parameters.count)")
    precondition(
        gradients.count == parameterCount,
        "optimizer built for \(parameterCount) parameters got \(gradients.count) gradients")
    precondition(
        learningRate >= 0 && learningRate.isFinite,
        "learning rate must be finite and >= 0, got \(learningRate)")
}

/// √x for the non-negative moments and sums of the optimizers, in a form loops vectorise.
///
/// On Linux `Float.squareRoot()` keeps C's errno rule: a branch calls libm's `sqrtf` for
/// negative input, and that call stops LLVM from vectorising the loop. An absolute value is
/// never negative, so the branch folds away; for x ≥ 0 (or NaN) it changes no bit.
@inline(__always)
func nonNegativeSquareRoot(_ x: Float) -> Float {
    abs(x).squareRoot()
}
