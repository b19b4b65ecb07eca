// Closed form for RMSprop without momentum on a constant gradient g from v = 0:
//   v_j = (1 − α^j)·g², so p_k = p0 − lr·Σ_{j=1..k} g/(|g|·√(1 − α^j) + ε).

import Engine
import Foundation
import Optimizers
import Testing

@Suite struct RMSpropTests {
    @Test func constantGradientFollowsGeometricSecondMoment() {
        let count = 37, k = 7, lr = 0.01, alpha = 0.9
        let g = (0..<count).map { Float($0 - 18) * 0.25 + 0.125 }
        let start = initialParameters(count: count)
        let parameters = FloatBuffer(start)
        let optimizer = RMSprop(parameterCount: count, alpha: Float(alpha))
        withPool(threadCount: 2) { pool in
            for _ in 0..<k {
                optimizer.update(parameters: parameters, gradients: FloatBuffer(g), learningRate: Float(lr), pool: pool)
            }
        }
        let eps = Double(optimizer.epsilon)
        let expected = zip(start, g).map { p, g in
            let g = Double(g)
            return Double(p) - (1...k).reduce(0.0) { sum, j in
                sum + lr * g / (abs(g) * (1 - pow(alpha, Double(j))).squareRoot() + eps)
            }
        }
        #expect(scaledError(parameters.array, expected) < 1e-5)
        let v = g.map { Double($0) * Double($0) * (1 - pow(alpha, Double(k))) }
        #expect(scaledError(optimizer.state[0].array, v) < 1e-5)
    }
}
