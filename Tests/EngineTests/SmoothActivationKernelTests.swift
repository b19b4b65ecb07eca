// The smooth activations' C kernel (sigmoid, tanh, SiLU, ELU, softplus, GELU): every lane width
// gives the bits of the one-element function, forward and backward, for
// widths with and without a tail; and the values are within an ulp of the
// exact ones (Double libm, rounded to Float), from subnormal to saturated
// inputs, with ±0, ±Inf and NaN handled as the functions' limits.

import CKernels
import Engine
import Foundation
import Testing

@Suite(.serialized) struct SmoothActivationKernelTests {
    static let kinds: [(name: String, kind: Int32)] = [
        ("sigmoid", DPT_SMOOTH_SIGMOID), ("tanh", DPT_SMOOTH_TANH), ("silu", DPT_SMOOTH_SILU), ("elu", DPT_SMOOTH_ELU),
        ("softplus", DPT_SMOOTH_SOFTPLUS), ("gelu", DPT_SMOOTH_GELU),
    ]
    /// ELU's α in these tests (the others take no parameter).
    static let alpha: Float = 0.7

    static func exact(_ kind: Int32, _ x: Double) -> Double {
        switch kind {
        case DPT_SMOOTH_SIGMOID: return 1 / (1 + exp(-x))
        case DPT_SMOOTH_TANH: return tanh(x)
        case DPT_SMOOTH_SILU: return x / (1 + exp(-x))
        case DPT_SMOOTH_ELU: return x > 0 ? x : Double(alpha) * expm1(x)
        case DPT_SMOOTH_SOFTPLUS: return max(x, 0) + log1p(exp(-abs(x)))
        default: return x * 0.5 * erfc(-x / 2.0.squareRoot())
        }
    }

    /// Inputs from 2⁻¹⁴⁰ to 2⁷ on both signs, densely, plus the tails of every regime.
    static let inputs: [Float] = {
        var values: [Float] = [0, -0, .leastNonzeroMagnitude, 1e-30, 1e-8, 0x1p-7, 0x1.fffffep-8, 9, 9.02, 19.9, 20, 21, 88,
                               89, 104, 700, 701, 1e30]
        var x: Float = 0x1p-140
        while x < 128 {
            values.append(x)
            x *= 1.0137
        }
        // And every 0.01 over [−40, 40], through each function's regimes.
        return values + values.map { -$0 } + (0...8000).map { Float(-40 + 0.01 * Double($0)) }
    }()

    @Test("values are within an ulp of the exact function", arguments: kinds.map(\.kind))
    func valuesAreWithinAnUlp(kind: Int32) {
        var worst = 0
        for x in Self.inputs {
            let got = dpt_smooth_value(kind, x, Self.alpha)
            let exact = Self.exact(kind, Double(x))
            let rounded = Float(exact)
            // Distance in ulps between the result and the correctly rounded value.
            let distance = got == rounded ? 0 : abs(Int(got.bitPattern) - Int(rounded.bitPattern))
            if got.sign != rounded.sign, got != 0 || rounded != 0 { worst = max(worst, 1 << 20) } else { worst = max(worst, distance) }
        }
        #expect(worst <= 1)
    }

    @Test("limits: ±0, ±Inf and NaN")
    func limits() {
        #expect(dpt_smooth_value(DPT_SMOOTH_SIGMOID, .infinity, 0) == 1)
        #expect(dpt_smooth_value(DPT_SMOOTH_SIGMOID, -.infinity, 0) == 0)
        #expect(dpt_smooth_value(DPT_SMOOTH_SIGMOID, 0, 0) == 0.5)
        #expect(dpt_smooth_value(DPT_SMOOTH_TANH, .infinity, 0) == 1)
        #expect(dpt_smooth_value(DPT_SMOOTH_TANH, -.infinity, 0) == -1)
        #expect(dpt_smooth_value(DPT_SMOOTH_TANH, -0.0, 0).bitPattern == (-0.0 as Float).bitPattern)
        #expect(dpt_smooth_value(DPT_SMOOTH_SILU, .infinity, 0) == .infinity)
        #expect(dpt_smooth_value(DPT_SMOOTH_ELU, .infinity, Self.alpha) == .infinity)
        #expect(dpt_smooth_value(DPT_SMOOTH_ELU, -.infinity, Self.alpha) == -Self.alpha)
        #expect(dpt_smooth_value(DPT_SMOOTH_SOFTPLUS, .infinity, 0) == .infinity)
        #expect(dpt_smooth_value(DPT_SMOOTH_SOFTPLUS, -.infinity, 0) == 0)
        #expect(dpt_smooth_value(DPT_SMOOTH_GELU, .infinity, 0) == .infinity)
        #expect(dpt_smooth_value(DPT_SMOOTH_GELU, 0, 0) == 0)
        #expect(dpt_gelu_derivative(0) == 0.5)
        #expect(dpt_gelu_derivative(.nan).isNaN)
        for (_, kind) in Self.kinds {
            #expect(dpt_smooth_value(kind, .nan, Self.alpha).isNaN)
        }
        #expect(dpt_silu_derivative(.nan).isNaN)
    }

    @Test("16, 8 and 1 lanes give the one-element bits forward and backward", arguments: [1, 7, 8, 16, 17, 33, 100, 700])
    func everyLaneWidthHasTheScalarBits(width n: Int) {
        let rows = 3, stride = n + 2
        // Every regime of every function at each width: a linear sweep over [−40, 40], the
        // log-spaced inputs, and the non-finite ones.
        let sweep = (0..<463).map { Float(-40 + 0.173 * Double($0)) }
        let values = sweep + Self.inputs + [.nan, .infinity, -.infinity]
        let z0 = (0..<(rows * stride)).map { values[($0 * 7) % values.count] }
        let bias = (0..<n).map { Float(sin(Double($0))) * 1e-3 }
        let upstream = (0..<(rows * stride)).map { Float(cos(Double($0) * 0.3)) }
        for (name, kind) in Self.kinds {
            for lanes: Int32 in [16, 8, 1] {
                dpt_kernels_limit_lanes(lanes)
                defer { dpt_kernels_limit_lanes(16) }
                var z = z0, a = [Float](repeating: -7, count: z0.count), g = upstream
                dpt_smooth_forward(kind, Self.alpha, &z, stride, &a, stride, bias, rows, n)
                dpt_smooth_backward(kind, Self.alpha, &g, stride, z, stride, a, stride, rows, n)
                var wrong = 0
                for i in 0..<rows {
                    for j in 0..<stride {
                        let at = i * stride + j
                        let expectedZ = j < n ? z0[at] + bias[j] : z0[at]
                        let expectedA = j < n ? dpt_smooth_value(kind, expectedZ, Self.alpha) : -7
                        let derivative: Float = switch kind {
                        case DPT_SMOOTH_SIGMOID: expectedA * (1 - expectedA)
                        case DPT_SMOOTH_TANH: 1 - expectedA * expectedA
                        case DPT_SMOOTH_SILU: dpt_silu_derivative(expectedZ)
                        case DPT_SMOOTH_ELU: expectedZ > 0 ? 1 : expectedA + Self.alpha
                        case DPT_SMOOTH_SOFTPLUS: dpt_smooth_value(DPT_SMOOTH_SIGMOID, expectedZ, 0)
                        default: dpt_gelu_derivative(expectedZ)
                        }
                        let expectedG = j < n ? upstream[at] * derivative : upstream[at]
                        if z[at].bitPattern != expectedZ.bitPattern || a[at].bitPattern != expectedA.bitPattern
                            || g[at].bitPattern != expectedG.bitPattern {
                            wrong += 1
                        }
                    }
                }
                #expect(wrong == 0, "\(name), \(lanes) lanes, width \(n): \(wrong) elements differ")
            }
        }
    }
}
