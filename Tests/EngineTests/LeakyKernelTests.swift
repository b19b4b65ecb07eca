// LeakyReLU's and PReLU's C kernel: at 16, 8 and 1 lanes, forward and
// backward have the bits of the Swift formulas (Activation.value and
// derivative), for widths with and without a tail, with one slope or a slope
// per column, through zeros of both signs, NaN and infinities; PReLU's slope
// gradient has the bits of its sum over the rows in order.

import CKernels
import Engine
import Foundation
import Testing

@Suite(.serialized) struct LeakyKernelTests {
    @Test("16, 8 and 1 lanes give the Swift formulas' bits", arguments: [1, 7, 8, 16, 17, 33, 100])
    func everyLaneWidthHasTheFormulasBits(width n: Int) {
        let rows = 3, stride = n + 2
        let specials: [Float] = [0, -0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
        let z0: [Float] = (0..<(rows * stride)).map { (i: Int) -> Float in
            if i % 5 == 0 { return specials[(i / 5) % specials.count] }
            return Float(sin(Double(i) * 0.7)) * 3
        }
        let bias = (0..<n).map { Float(cos(Double($0))) * 1e-3 }
        let columnSlopes: [Float] = (0..<n).map { (j: Int) -> Float in 0.05 + Float(j % 7) * 0.06 }
        let upstream = (0..<(rows * stride)).map { Float(cos(Double($0) * 0.3)) }
        for (name, slopes, activation) in [("leaky", nil as [Float]?, Activation.leakyReLU(slope: 0.01)),
                                           ("prelu", columnSlopes, Activation.prelu(initialSlope: 0.25))] {
            let slope: Float = slopes == nil ? 0.01 : 0
            for lanes: Int32 in [16, 8, 1] {
                dpt_kernels_limit_lanes(lanes)
                defer { dpt_kernels_limit_lanes(16) }
                var z = z0, a = [Float](repeating: -7, count: z0.count), g = upstream
                slopes.withOptionalPointer { s in
                    dpt_bias_leaky(&z, stride, &a, stride, bias, s, slope, rows, n)
                    dpt_leaky_mask(&g, stride, z, stride, s, slope, rows, n)
                }
                var wrong = 0
                for i in 0..<rows {
                    for j in 0..<stride {
                        let at = i * stride + j
                        let columnSlope = slopes?[j % n] ?? 0
                        let expectedZ = j < n ? z0[at] + bias[j] : z0[at]
                        let expectedA = j < n ? activation.value(expectedZ, slope: columnSlope) : -7
                        let expectedG = j < n
                            ? upstream[at] * activation.derivative(expectedZ, output: expectedA, slope: columnSlope) : upstream[at]
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

    @Test("PReLU's slope gradient sums z·g over the rows where z ≤ 0, in order, at 16, 8 and 1 lanes",
          arguments: [1, 7, 8, 16, 17, 33, 100])
    func slopeSumsHaveTheFormulasBits(width n: Int) {
        let specials: [Float] = [0, -0, .nan, .infinity, -.leastNonzeroMagnitude, -1e30]
        for rows in [1, 5, 64] {
            let zStride = n + 1, gStride = n + 3
            var z = (0..<(rows * zStride)).map { (i: Int) -> Float in
                if i % 13 == 2 { return specials[(i / 13) % specials.count] }
                return Float(sin(Double(i) * 0.83)) * 2
            }
            if n > 1 { z[1] = -.infinity }
            let g = (0..<(rows * gStride)).map { Float(cos(Double($0) * 0.29)) * 1e3 }
            var expected = [Float](repeating: 0, count: n)
            for j in 0..<n {
                for i in 0..<rows where z[i * zStride + j] <= 0 { expected[j] += z[i * zStride + j] * g[i * gStride + j] }
            }
            for lanes: Int32 in [16, 8, 1] {
                dpt_kernels_limit_lanes(lanes)
                defer { dpt_kernels_limit_lanes(16) }
                var out = [Float](repeating: -7, count: n + 1)
                dpt_prelu_slope_sums(g, gStride, z, zStride, rows, &out, n)
                let wrong = (0..<n).filter {
                    out[$0].bitPattern != expected[$0].bitPattern && !(out[$0].isNaN && expected[$0].isNaN)
                }.count
                #expect(wrong == 0 && out[n] == -7, "\(lanes) lanes, \(rows) × \(n): \(wrong) sums differ")
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    /// The array's storage, or nil, for the length of `body`.
    fileprivate func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let values): return values.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
