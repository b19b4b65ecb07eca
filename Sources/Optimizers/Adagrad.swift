// Adagrad: gradient scaled by the root of the sum of all squared gradients so far.
//
// torch.optim.Adagrad with lr_decay 0 (https://pytorch.org/docs/stable/generated/torch.optim.Adagrad.html;
// Duchi, Hazan & Singer 2011), the sum starting at the initial accumulator value:
//   s ← s + g²
//   p ← p − lr·g / (√s + ε)

import Engine

/// Adagrad over a flat arena. State: `[s]`, the running sum of squared gradients.
public final class Adagrad: Optimizer {
    /// Number of floats in the arena.
    public let parameterCount: Int
    /// ε added to the denominator.
    public let epsilon: Float
    /// The value every element of the sum starts at.
    public let initialAccumulator: Float
    /// `[s]` (N).
    public let state: [FloatBuffer]
    /// Updates applied so far.
    public var stepCount = 0

    /// Adagrad for `parameterCount` floats, its sum filled with `initialAccumulator`.
    public init(parameterCount: Int, epsilon: Float = 1e-10, initialAccumulator: Float = 0) {
        precondition(epsilon >= 0 && epsilon.isFinite, "Adagrad epsilon must be finite and >= 0, got \(epsilon)")
        precondition(
            initialAccumulator >= 0 && initialAccumulator.isFinite,
            "Adagrad initialAccumulator must be finite and >= 0, got \(initialAccumulator)")
        self.parameterCount = parameterCount
        self.epsilon = epsilon
        self.initialAccumulator = initialAccumulator
        let sum = FloatBuffer(count: parameterCount)
        sum.fill(initialAccumulator)
        self.state = [sum]
    }

    /// One Adagrad step as an elementwise kernel; see the file header.
    public func kernel(learningRate: Float) -> OptimizerKernel {
        .adagrad(learningRate: learningRate, epsilon: epsilon, sum: state[0].pointer)
    }
}
