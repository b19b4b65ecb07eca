// Optimizer: one update of the whole parameter arena from its mean gradient.
//
// Parameters, gradients and every state buffer share the arena's flat layout
// (DESIGN.md decision 1), so an update is one elementwise loop cut into fixed
// ranges on the pool. Every element gets the same formula whichever thread runs
// its range, so the result does not depend on the thread count (decision 3).
// The formulas are PyTorch's, https://pytorch.org/docs/stable/optim.html.

import CKernels
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
    /// The step numbered `stepCount + 1` with `learningRate` as an
    /// elementwise kernel over the state buffers: any piece of the arena,
    /// from any thread, without counting the step.
    func kernel(learningRate: Float) -> OptimizerKernel
}

extension Optimizer {
    /// Applies the step numbered `stepCount + 1` with `learningRate` to the
    /// elements `range` of `parameters` (N), using `gradients` (N), the mean
    /// over the global batch, without counting the step. Elements outside
    /// `range`, state included, are not touched, so the ranks of a job can
    /// each apply one part of a step (then `stepCount += 1` on every rank).
    public func apply(
        parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, range: Range<Int>, pool: ThreadPool
    ) {
        checkUpdateArguments(
            parameterCount: parameterCount, parameters: parameters, gradients: gradients,
            learningRate: learningRate, range: range)
        pool.parallelRanges(
            range.count,
            KernelRanges(
                kernel: kernel(learningRate: learningRate), first: range.lowerBound, gradients: gradients.pointer,
                parameters: parameters.pointer))
    }

    /// Applies one step to the whole arena and increments `stepCount`.
    public func update(parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, pool: ThreadPool) {
        apply(parameters: parameters, gradients: gradients, learningRate: learningRate, range: 0..<parameterCount,
              pool: pool)
        stepCount += 1
    }
}

/// Chunks of an update of `first..<first + count`.
private struct KernelRanges: RangeJob {
    let kernel: OptimizerKernel, first: Int, gradients: UnsafePointer<Float>, parameters: UnsafeMutablePointer<Float>

    func run(_ chunk: Range<Int>) {
        let start = first + chunk.lowerBound
        kernel.apply(offset: start, count: chunk.count, gradient: gradients + start, parameters: parameters)
    }
}

/// One optimizer step's arithmetic: the step's constants and the state
/// buffers' base pointers (no allocation). `apply` is the only place the
/// formulas of the file headers are written, so an update applied in pieces
/// — by ranges, by ranks, or row by row inside a GEMM tile — has the bits of
/// the whole update.
public enum OptimizerKernel {
    case sgd(learningRate: Float)
    case sgdMomentum(learningRate: Float, momentum: Float, nesterov: Bool, buffer: UnsafeMutablePointer<Float>)
    case adam(
        decay: Float, stepSize: Float, epsilon: Float, beta1: Float, beta2: Float,
        m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, vmax: UnsafeMutablePointer<Float>?)
    case rmsprop(
        learningRate: Float, alpha: Float, epsilon: Float, momentum: Float, v: UnsafeMutablePointer<Float>,
        buffer: UnsafeMutablePointer<Float>?)
    case adagrad(learningRate: Float, epsilon: Float, sum: UnsafeMutablePointer<Float>)

    /// Updates arena elements offset..<offset + count of `parameters` (and
    /// of the state) from `gradient[0..<count]`.
    public func apply(
        offset: Int, count: Int, gradient g: UnsafePointer<Float>, parameters: UnsafeMutablePointer<Float>
    ) {
        // Legend: p parameters, g gradients, b momentum buffer, m and v Adam's moments,
        // vmax their running maximum, s Adagrad's sum; per element i of the piece.
        let p = parameters + offset
        switch self {
        case .sgd(let lr):
            for i in 0..<count { p[i] -= lr * g[i] }
        case .sgdMomentum(let lr, let mu, let nesterov, let buffer):
            let b = buffer + offset
            if nesterov {
                for i in 0..<count {
                    b[i] = mu * b[i] + g[i]
                    p[i] -= lr * (g[i] + mu * b[i])
                }
            } else {
                for i in 0..<count {
                    b[i] = mu * b[i] + g[i]
                    p[i] -= lr * b[i]
                }
            }
        case .adam(
            let decay, let stepSize, let eps, let b1, let b2, let mBase, let vBase, let vmaxBase
        ):
            let m = mBase + offset
            let v = vBase + offset
            guard let vmaxBase else {
                // The same arithmetic eight lanes at a time where the CPU has AVX2 (CKernels).
                dpt_adam_step(p, g, m, v, count, decay, stepSize, b1, b2, eps)
                return
            }
            let oneMinusB1 = 1 - b1, oneMinusB2 = 1 - b2
            let vmax = vmaxBase + offset
            for i in 0..<count {
                p[i] *= decay
                m[i] = b1 * m[i] + oneMinusB1 * g[i]
                v[i] = b2 * v[i] + oneMinusB2 * (g[i] * g[i])
                vmax[i] = max(vmax[i], v[i])
                p[i] -= stepSize * (m[i] / (nonNegativeSquareRoot(vmax[i]) + eps))
            }
        case .rmsprop(let lr, let a, let eps, let mu, let vBase, let buffer):
            let v = vBase + offset
            let oneMinusA = 1 - a
            if let buffer {
                let b = buffer + offset
                for i in 0..<count {
                    v[i] = a * v[i] + oneMinusA * (g[i] * g[i])
                    b[i] = mu * b[i] + g[i] / (nonNegativeSquareRoot(v[i]) + eps)
                    p[i] -= lr * b[i]
                }
            } else {
                for i in 0..<count {
                    v[i] = a * v[i] + oneMinusA * (g[i] * g[i])
                    p[i] -= lr * (g[i] / (nonNegativeSquareRoot(v[i]) + eps))
                }
            }
        case .adagrad(let lr, let eps, let sum):
            let s = sum + offset
            for i in 0..<count {
                s[i] += g[i] * g[i]
                p[i] -= lr * (g[i] / (nonNegativeSquareRoot(s[i]) + eps))
            }
        }
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
