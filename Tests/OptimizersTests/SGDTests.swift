// Closed forms for SGD on a constant gradient g from p0 after k steps:
//   plain:     p_k = p0 − k·lr·g                  (exact here: every value is dyadic)
//   momentum:  b_j = g·(1−μ^j)/(1−μ), so p_k = p0 − lr·g·(k − μ(1−μ^k)/(1−μ))/(1−μ)
//   Nesterov:  step j moves by lr·(g + μ·b_j) = lr·g·(1−μ^(j+1))/(1−μ),
//              so p_k = p0 − lr·g·(k − μ²(1−μ^k)/(1−μ))/(1−μ)

import Engine
import Foundation
import Optimizers
import Testing

@Suite struct SGDTests {
    static let count = 37
    static let steps = 6

    func constantGradient() -> [Float] {
        (0..<Self.count).map { Float($0 % 5 - 2) * 0.5 }
    }

    func run(_ optimizer: SGD, learningRate: Float) -> FloatBuffer {
        let parameters = FloatBuffer((0..<Self.count).map { Float($0) })
        let g = FloatBuffer(constantGradient())
        withPool(threadCount: 2) { pool in
            for _ in 0..<Self.steps {
                optimizer.update(parameters: parameters, gradients: g, learningRate: learningRate, pool: pool)
            }
        }
        return parameters
    }

    @Test func plainSGDOnConstantGradientMovesLinearlyAndExactly() {
        let parameters = run(SGD(parameterCount: Self.count), learningRate: 0.25)
        let expected = zip(0..<Self.count, constantGradient()).map { i, g in Float(i) - Float(Self.steps) * 0.25 * g }
        #expect(parameters.array == expected)
    }

    @Test(arguments: [false, true])
    func momentumOnConstantGradientFollowsGeometricSum(nesterov: Bool) {
        let mu = 0.9, lr = 0.1, k = Double(Self.steps)
        let optimizer = SGD(parameterCount: Self.count, momentum: Float(mu), nesterov: nesterov)
        let parameters = run(optimizer, learningRate: Float(lr))
        let lead = nesterov ? mu * mu : mu
        let total = (k - lead * (1 - pow(mu, k)) / (1 - mu)) / (1 - mu)
        let expected = zip(0..<Self.count, constantGradient()).map { i, g in Double(i) - lr * Double(g) * total }
        #expect(scaledError(parameters.array, expected) < 1e-5)
        let buffer = constantGradient().map { Double($0) * (1 - pow(mu, k)) / (1 - mu) }
        #expect(scaledError(optimizer.state[0].array, buffer) < 1e-5)
    }
}
