// ReferenceOptimizer: the torch.optim formulas again, in Double, written in the
// textbook form of the PyTorch docs (m̂ and v̂ spelled out, SGD's buffer set to g
// on the first step) rather than the arrangement the kernels use, plus the
// arenas and comparisons the optimizer tests share.

import Engine
import Foundation
import Optimizers

/// Every optimizer kind, with defaults and with the options switched on.
let allConfigs: [OptimizerConfig] = [
    .sgd(),
    .sgd(momentum: 0.9),
    .sgd(momentum: 0.9, nesterov: true),
    .adam(),
    .adam(beta1: 0.8, beta2: 0.5, epsilon: 1e-6, amsgrad: true),
    .adamW(),
    .adamW(beta1: 0.8, beta2: 0.5, epsilon: 1e-6, weightDecay: 0.1, amsgrad: true),
    .rmsprop(),
    .rmsprop(alpha: 0.9, epsilon: 1e-6, momentum: 0.5),
    .adagrad(),
    .adagrad(epsilon: 1e-6, initialAccumulator: 0.1),
]

/// A Double re-implementation of every `OptimizerConfig`; state in the documented order.
struct ReferenceOptimizer {
    let config: OptimizerConfig
    var parameters: [Double]
    var state: [[Double]]
    var step = 0

    init(config: OptimizerConfig, parameters: [Double]) {
        self.config = config
        self.parameters = parameters
        let zeros = [Double](repeating: 0, count: parameters.count)
        switch config {
        case .sgd(let momentum, _): state = momentum > 0 ? [zeros] : []
        case .adam(_, _, _, let amsgrad), .adamW(_, _, _, _, let amsgrad): state = amsgrad ? [zeros, zeros, zeros] : [zeros, zeros]
        case .rmsprop(_, _, let momentum): state = momentum > 0 ? [zeros, zeros] : [zeros]
        case .adagrad(_, let initial): state = [[Double](repeating: Double(initial), count: parameters.count)]
        }
    }

    mutating func update(gradients g: [Double], learningRate lr: Double) {
        step += 1
        switch config {
        case .sgd(let momentum, let nesterov):
            let mu = Double(momentum)
            for i in parameters.indices {
                var direction = g[i]
                if mu > 0 {
                    state[0][i] = step == 1 ? g[i] : mu * state[0][i] + g[i]
                    direction = nesterov ? g[i] + mu * state[0][i] : state[0][i]
                }
                parameters[i] -= lr * direction
            }
        case .adam(let beta1, let beta2, let epsilon, let amsgrad):
            adam(g, lr, Double(beta1), Double(beta2), Double(epsilon), 0, amsgrad)
        case .adamW(let beta1, let beta2, let epsilon, let weightDecay, let amsgrad):
            adam(g, lr, Double(beta1), Double(beta2), Double(epsilon), Double(weightDecay), amsgrad)
        case .rmsprop(let alpha, let epsilon, let momentum):
            let a = Double(alpha), eps = Double(epsilon), mu = Double(momentum)
            for i in parameters.indices {
                state[0][i] = a * state[0][i] + (1 - a) * g[i] * g[i]
                let scaled = g[i] / (state[0][i].squareRoot() + eps)
                if mu > 0 {
                    state[1][i] = mu * state[1][i] + scaled
                    parameters[i] -= lr * state[1][i]
                } else {
                    parameters[i] -= lr * scaled
                }
            }
        case .adagrad(let epsilon, _):
            for i in parameters.indices {
                state[0][i] += g[i] * g[i]
                parameters[i] -= lr * g[i] / (state[0][i].squareRoot() + Double(epsilon))
            }
        }
    }

    private mutating func adam(
        _ g: [Double], _ lr: Double, _ b1: Double, _ b2: Double, _ eps: Double, _ decay: Double, _ amsgrad: Bool
    ) {
        let t = Double(step)
        for i in parameters.indices {
            parameters[i] *= 1 - lr * decay
            state[0][i] = b1 * state[0][i] + (1 - b1) * g[i]
            state[1][i] = b2 * state[1][i] + (1 - b2) * g[i] * g[i]
            let mHat = state[0][i] / (1 - pow(b1, t))
            var second = state[1][i]
            if amsgrad {
                state[2][i] = max(state[2][i], state[1][i])
                second = state[2][i]
            }
            let vHat = second / (1 - pow(b2, t))
            parameters[i] -= lr * mHat / (vHat.squareRoot() + eps)
        }
    }
}

/// Starting parameters of mixed sign and size.
func initialParameters(count: Int) -> [Float] {
    (0..<count).map { Float(cos(0.71 * Double($0))) }
}

/// Gradients that change shape and scale from step to step, so moments both grow and shrink.
func gradients(count: Int, step: Int) -> [Float] {
    let scales: [Double] = [1, 0.05, 2, 0.01, 0.5, 3, 0.2]
    let scale = scales[step % scales.count]
    return (0..<count).map { Float(scale * sin(0.37 * Double($0) + 1.3 * Double(step) + 0.5)) }
}

/// A learning rate that changes per step, as a schedule's would.
func learningRate(step: Int) -> Float {
    0.05 * (1 + 0.25 * Float(step))
}

/// Largest |actual − expected| over the elements, in units of max(|expected|, a tenth of the
/// buffer's largest magnitude): a relative error that does not blow up next to zero.
func scaledError(_ actual: [Float], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count)
    let largest = expected.map(abs).max() ?? 0
    var worst = 0.0
    for (a, e) in zip(actual, expected) {
        let scale = max(abs(e), 0.1 * largest, 1e-30)
        worst = max(worst, abs(Double(a) - e) / scale)
    }
    return worst
}

/// The exact bits of a buffer, for bitwise comparisons.
func bits(_ buffer: FloatBuffer) -> [UInt32] {
    buffer.array.map(\.bitPattern)
}

/// Runs `body` with a fresh pool of `threadCount` threads and stops it afterwards.
func withPool<R>(threadCount: Int, _ body: (ThreadPool) throws -> R) rethrows -> R {
    let pool = ThreadPool(threadCount: threadCount)
    defer { pool.shutdown() }
    return try body(pool)
}
