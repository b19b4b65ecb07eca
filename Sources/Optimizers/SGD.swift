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

    /// p ← p − lr·(update direction); see the file header.
    public func apply(
        parameters: FloatBuffer, gradients: FloatBuffer, learningRate: Float, range: Range<Int>, pool: ThreadPool
    ) {
        checkUpdateArguments(
            parameterCount: parameterCount, parameters: parameters, gradients: gradients,
            learningRate: learningRate, range: range)
        // Legend: p parameters (N), g gradients (N), b momentum buffer (N), lr, mu = μ.
        let p = parameters.pointer + range.lowerBound
        let g = gradients.pointer + range.lowerBound
        let lr = learningRate
        let mu = momentum
        if state.isEmpty {
            pool.parallelRanges(range.count) { chunk in
                for i in chunk { p[i] -= lr * g[i] }
            }
        } else if nesterov {
            let b = state[0].pointer + range.lowerBound
            pool.parallelRanges(range.count) { chunk in
                for i in chunk {
                    b[i] = mu * b[i] + g[i]
                    p[i] -= lr * (g[i] + mu * b[i])
                }
            }
        } else {
            let b = state[0].pointer + range.lowerBound
            pool.parallelRanges(range.count) { chunk in
                for i in chunk {
                    b[i] = mu * b[i] + g[i]
                    p[i] -= lr * b[i]
                }
            }
        }
    }
}
