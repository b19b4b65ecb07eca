// SGD: stochastic gradient descent with optional heavy-ball or Nesterov momentum.
//
// torch.optim.SGD (dampening 0, https://pytorch.org/docs/stable/generated/torch.optim.SGD.html):
//   no momentum:  p ← p − lr·g
//   momentum μ:   b ← μ·b + g;  p ← p − lr·b
//   Nesterov:     b ← μ·b + g;  p ← p − lr·(g + μ·b)
// PyTorch sets b ← g on the first step; with b starting at zero, μ·0 + g is the same value.

import Engine

/// SGD over a flat arena. State: `[momentum buffer]` when `momentum > 0`, else `[]`.
public final class SGD: Optimizer {
    /// Number of floats in the arena.
    public let parameterCount: Int
    /// Momentum coefficient μ; 0 turns momentum off.
    public let momentum: Float
    /// Whether the step uses Nesterov's look-ahead form.
    public let nesterov: Bool
    /// `[momentum buffer]` (N) when `momentum > 0`, else empty.
    public let state: [FloatBuffer]
    /// Updates applied so far.
    public var stepCount = 0

    /// SGD for `parameterCount` floats; Nesterov needs `momentum > 0`.
    public init(parameterCount: Int, momentum: Float = 0, nesterov: Bool = false) {
        precondition(momentum >= 0 && momentum.isFinite, "SGD momentum must be finite and >= 0, got \(momentum)")
        precondition(!nesterov || momentum > 0, "SGD with Nesterov needs momentum > 0")
        self.parameterCount = parameterCount
        self.momentum = momentum
        self.nesterov = nesterov
        self.state = momentum > 0 ? [FloatBuffer(count: parameterCount)] : []
    }

    /// One SGD step as an elementwise kernel; see the file header.
    public func kernel(learningRate: Float) -> OptimizerKernel {
        guard let buffer = state.first else { return .sgd(learningRate: learningRate) }
        return .sgdMomentum(learningRate: learningRate, momentum: momentum, nesterov: nesterov, buffer: buffer.pointer)
    }
}
