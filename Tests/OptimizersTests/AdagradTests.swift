// Closed form for Adagrad on a constant gradient g with initial accumulator a:
//   s_j = a + j·g², so p_k = p0 − lr·Σ_{j=1..k} g/(√(a + j·g²) + ε).

import Engine
import Foundation
import Optimizers
import Testing

@Suite struct AdagradTests {
    @Test(arguments: [Float(0), 0.1])
    func constantGradientFollowsGrowingSum(initialAccumulator: Float) {
        let count = 37, k = 7, lr = 0.1
        let g = (0..<count).map { Float($0 - 18) * 0.25 + 0.125 }
        let start = initialParameters(count: count)
        let parameters = FloatBuffer(start)
        let optimizer = Adagrad(parameterCount: count, initialAccumulator: initialAccumulator)
        #expect(optimizer.state[0].array == [Float](repeating: initialAccumulator, count: count))
        withPool(threadCount: 2) { pool in
            for _ in 0..<k {
                optimizer.update(parameters: parameters, gradients: FloatBuffer(g), learningRate: Float(lr), pool: pool)
            }
        }
        let a = Double(initialAccumulator), eps = Double(optimizer.epsilon)
        let expected = zip(start, g).map { p, g in
            let g = Double(g)
            return Double(p) - (1...k).reduce(0.0) { sum, j in
                sum + lr * g / ((a + Double(j) * g * g).squareRoot() + eps)
            }
        }
        #expect(scaledError(parameters.array, expected) < 1e-5)
        let sums = g.map { a + Double(k) * Double($0) * Double($0) }
        #expect(scaledError(optimizer.state[0].array, sums) < 1e-5)
    }
}
