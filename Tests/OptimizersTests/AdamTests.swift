// Closed forms for Adam and AdamW:
//   constant gradient g: the bias-corrected moments are exactly m̂ = g and v̂ = g², so
//     every step moves by lr·g/(|g| + ε) and p_k = p0 − k·lr·g/(|g| + ε);
//   AdamW with zero gradient: m = v = 0 and the update is 0/(0 + ε), so p_k = p0·(1 − lr·λ)^k.
// And AMSGrad must differ from Adam once the second moment shrinks.

import Engine
import Foundation
import Optimizers
import Testing

@Suite struct AdamTests {
    static let count = 37

    @Test(arguments: [false, true])
    func constantGradientMovesBySignTimesLearningRate(amsgrad: Bool) {
        let g = (0..<Self.count).map { Float($0 - 18) * 0.125 + 0.0625 }
        let start = initialParameters(count: Self.count)
        let parameters = FloatBuffer(start)
        let optimizer = Adam(parameterCount: Self.count, amsgrad: amsgrad)
        let lr = 0.01, eps = Double(optimizer.epsilon), k = 8
        withPool(threadCount: 2) { pool in
            for _ in 0..<k {
                optimizer.update(parameters: parameters, gradients: FloatBuffer(g), learningRate: Float(lr), pool: pool)
            }
        }
        let expected = zip(start, g).map { p, g in
            Double(p) - Double(k) * lr * Double(g) / (abs(Double(g)) + eps)
        }
        #expect(scaledError(parameters.array, expected) < 1e-5)
    }

    @Test func adamWWithZeroGradientOnlyDecays() {
        let start = initialParameters(count: Self.count)
        let parameters = FloatBuffer(start)
        let optimizer = Adam(parameterCount: Self.count, weightDecay: 0.1)
        let lr = 0.5, k = 6
        withPool(threadCount: 1) { pool in
            for _ in 0..<k {
                optimizer.update(
                    parameters: parameters, gradients: FloatBuffer(count: Self.count), learningRate: Float(lr),
                    pool: pool)
            }
        }
        let expected = start.map { Double($0) * pow(1 - lr * 0.1, Double(k)) }
        #expect(scaledError(parameters.array, expected) < 1e-5)
    }

    @Test func amsgradDiffersFromAdamWhenSecondMomentShrinks() {
        // gradients(count:step:) drops from scale 1 to 0.05 at step 1, so v falls while vmax holds.
        let results = [false, true].map { amsgrad in
            let parameters = FloatBuffer(initialParameters(count: Self.count))
            let optimizer = Adam(parameterCount: Self.count, beta2: 0.5, amsgrad: amsgrad)
            withPool(threadCount: 1) { pool in
                for step in 0..<3 {
                    optimizer.update(
                        parameters: parameters, gradients: FloatBuffer(gradients(count: Self.count, step: step)),
                        learningRate: 0.1, pool: pool)
                }
            }
            return parameters.array
        }
        #expect(scaledError(results[0], results[1].map(Double.init)) > 1e-2)
    }
}
