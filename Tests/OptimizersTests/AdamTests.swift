// Closed forms for Adam and AdamW:
//   constant gradient g: the bias-corrected moments are exactly m̂ = g and v̂ = g², so
//     every step moves by lr·g/(|g| + ε) and p_k = p0 − k·lr·g/(|g| + ε);
//   AdamW with zero gradient: m = v = 0 and the update is 0/(0 + ε), so p_k = p0·(1 − lr·λ)^k.
// And AMSGrad must differ from Adam once the second moment shrinks.

import CKernels
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

@Suite struct AdamKernelTests {
    /// The update runs sixteen or eight lanes at a time in C where the CPU has AVX-512 or AVX2; it
    /// must have the bits of the formula written out in Swift, element by
    /// element, for every length (lanes and tail) and for AdamW's decay.
    @Test(arguments: [1, 8, 16, 37, 47, 1000], [0, 0.01] as [Float])
    func theVectorKernelHasTheBitsOfTheScalarFormula(count: Int, weightDecay: Float) {
        // Any path gives the same bits, so limiting the lanes cannot disturb tests running beside this one.
        for lanes in [1, 8, 16] as [Int32] {
            dpt_kernels_limit_lanes(lanes)
            check(count: count, weightDecay: weightDecay, lanes: lanes)
        }
        dpt_kernels_limit_lanes(16)
    }

    private func check(count: Int, weightDecay: Float, lanes: Int32) {
        var p = (0..<count).map { Float(sin(Double($0) * 0.7)) }
        var m = (0..<count).map { Float(cos(Double($0) * 0.3)) * 0.01 }
        var v = (0..<count).map { Float(abs(sin(Double($0) * 0.11))) * 1e-4 }
        let g = (0..<count).map { Float(sin(Double($0) * 1.3)) * 0.5 }
        let optimizer = Adam(parameterCount: count, weightDecay: weightDecay)
        optimizer.stepCount = 4
        optimizer.state[0].copy(from: FloatBuffer(m))
        optimizer.state[1].copy(from: FloatBuffer(v))
        let parameters = FloatBuffer(p)
        let lr: Float = 0.003
        withPool(threadCount: 2) { pool in
            optimizer.update(parameters: parameters, gradients: FloatBuffer(g), learningRate: lr, pool: pool)
        }
        // The formula of Adam.swift, one IEEE operation at a time.
        let t = 5.0
        let decay = Float(1 - Double(lr) * Double(weightDecay))
        let sqrtCorrection2 = (1 - pow(Double(optimizer.beta2), t)).squareRoot()
        let stepSize = Float(Double(lr) * sqrtCorrection2 / (1 - pow(Double(optimizer.beta1), t)))
        let eps = Float(Double(optimizer.epsilon) * sqrtCorrection2)
        let b1 = optimizer.beta1, b2 = optimizer.beta2
        for i in 0..<count {
            p[i] *= decay
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * (g[i] * g[i])
            p[i] -= stepSize * (m[i] / (abs(v[i]).squareRoot() + eps))
        }
        #expect(parameters.array.map(\.bitPattern) == p.map(\.bitPattern), "\(lanes) lanes")
        #expect(optimizer.state[0].array.map(\.bitPattern) == m.map(\.bitPattern), "\(lanes) lanes")
        #expect(optimizer.state[1].array.map(\.bitPattern) == v.map(\.bitPattern), "\(lanes) lanes")
    }
}
