// Adam and AdamW: adaptive moments with bias correction, optionally AMSGrad and
// decoupled weight decay.
//
// torch.optim.Adam / AdamW (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html,
// .../torch.optim.AdamW.html; Kingma & Ba 2015, Loshchilov & Hutter 2019), step t = stepCount + 1:
//   AdamW only:  p ← p·(1 − lr·λ)
//   m ← β1·m + (1−β1)·g
//   v ← β2·v + (1−β2)·g²
//   AMSGrad:     vmax ← max(vmax, v), and vmax stands for v below
//   p ← p − (lr·√(1−β2^t) / (1−β1^t)) · m / (√v + ε·√(1−β2^t))
// which is p − lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t): ε is added
// to √v̂, as in PyTorch, but √(1−β2^t) is folded into the step's two constants
// (computed once per step in Double) rather than dividing every √v by it, so
// an element costs one division and one square root instead of two divisions
// and one (the arrangement Keras uses, with PyTorch's ε). The two differ by
// rounding only. AMSGrad keeps the maximum of the raw v, as PyTorch does;
// since one step divides every element by the same 1−β2^t, that is max of v̂
// up to the current correction.

import Engine
import Foundation

/// Adam (weightDecay 0) or AdamW over a flat arena.
/// State: `[m, v]`, or `[m, v, vmax]` with AMSGrad.
public final class Adam: Optimizer {
    /// Number of floats in the arena.
    public let parameterCount: Int
    /// Decay rate β1 of the first moment.
    public let beta1: Float
    /// Decay rate β2 of the second moment.
    public let beta2: Float
    /// ε added to the denominator.
    public let epsilon: Float
    /// Decoupled weight decay λ (AdamW); 0 gives plain Adam.
    public let weightDecay: Float
    /// Whether the denominator uses the running maximum of v.
    public let amsgrad: Bool
    /// `[m, v]` or `[m, v, vmax]`, each (N).
    public let state: [FloatBuffer]
    /// Updates applied so far; the bias correction of the next step uses stepCount + 1.
    public var stepCount = 0

    /// Adam for `parameterCount` floats; a positive `weightDecay` makes it AdamW.
    public init(
        parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0, amsgrad: Bool = false
    ) {
        precondition(beta1 >= 0 && beta1 < 1, "Adam beta1 must be in [0, 1), got \(beta1)")
        precondition(beta2 >= 0 && beta2 < 1, "Adam beta2 must be in [0, 1), got \(beta2)")
        precondition(epsilon >= 0 && epsilon.isFinite, "Adam epsilon must be finite and >= 0, got \(epsilon)")
        precondition(
            weightDecay >= 0 && weightDecay.isFinite, "Adam weightDecay must be finite and >= 0, got \(weightDecay)")
        self.parameterCount = parameterCount
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.state = (0..<(amsgrad ? 3 : 2)).map { _ in FloatBuffer(count: parameterCount) }
    }

    /// One Adam(W) step as an elementwise kernel; see the file header.
    public func kernel(learningRate: Float) -> OptimizerKernel {
        let t = Double(stepCount + 1)
        let correction1 = 1 - pow(Double(beta1), t)
        let correction2 = 1 - pow(Double(beta2), t)
        let sqrtCorrection2 = correction2.squareRoot()
        return .adam(
            decay: Float(1 - Double(learningRate) * Double(weightDecay)),
            stepSize: Float(Double(learningRate) * sqrtCorrection2 / correction1),
            epsilon: Float(Double(epsilon) * sqrtCorrection2), beta1: beta1, beta2: beta2,
            m: state[0].pointer, v: state[1].pointer, vmax: amsgrad ? state[2].pointer : nil)
    }
}
