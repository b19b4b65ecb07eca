// RMSprop: gradient scaled by a running root mean square, optionally with momentum.
//
// torch.optim.RMSprop, uncentred (https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html;
// Hinton, Lecture 6e):
//   v ← α·v + (1−α)·g²
//   no momentum:  p ← p − lr·g / (√v + ε)
//   momentum μ:   b ← μ·b + g / (√v + ε);  p ← p − lr·b

import Engine

/// RMSprop over a flat arena. State: `[v]`, or `[v, momentum buffer]` when `momentum > 0`.
public final class RMSprop: Optimizer {
    /// Number of floats in the arena.
    public let parameterCount: Int
    /// Smoothing constant α of the squared-gradient average.
    public let alpha: Float
    /// ε added to the denominator.
    public let epsilon: Float
    /// Momentum coefficient μ; 0 turns momentum off.
    public let momentum: Float
    /// `[v]` or `[v, momentum buffer]`, each (N).
    public let state: [FloatBuffer]
    /// Updates applied so far.
    public var stepCount = 0

    /// RMSprop for `parameterCount` floats.
    public init(parameterCount: Int, alpha: Float = 0.99, epsilon: Float = 1e-8, momentum: Float = 0) {
        precondition(alpha >= 0 && alpha < 1, "RMSprop alpha must be in [0, 1), got \(alpha)")
        precondition(epsilon >= 0 && epsilon.isFinite, "RMSprop epsilon must be finite and >= 0, got \(epsilon)")
        precondition(momentum >= 0 && momentum.isFinite, "RMSprop momentum must be finite and >= 0, got \(momentum)")
        self.parameterCount = parameterCount
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.state = (0..<(momentum > 0 ? 2 : 1)).map { _ in FloatBuffer(count: parameterCount) }
    }

    /// One RMSprop step as an elementwise kernel; see the file header.
    public func kernel(learningRate: Float) -> OptimizerKernel {
        .rmsprop(
            learningRate: learningRate, alpha: alpha, epsilon: epsilon, momentum: momentum, v: state[0].pointer,
            buffer: state.count == 2 ? state[1].pointer : nil)
    }
}
