// Batch normalization's C kernel: at 16, 8 and 1 lanes, forward and backward
// have the bits of the formulas written out in Swift below (Double sums over
// the rows in order, constants rounded to Float once), for widths that use
// the four-vector chunks, the one-vector chunks and the single columns, with
// row strides wider than the width, and with values spread over many
// magnitudes, zeros of both signs, subnormals and a column holding infinity.

import CKernels
import Engine
import Foundation
import Testing

@Suite(.serialized) struct BatchNormKernelTests {
    static let widths = [1, 3, 4, 7, 8, 9, 16, 17, 31, 32, 33, 40, 47, 100]

    @Test("16, 8 and 1 lanes give the formulas' bits", arguments: widths)
    func everyLaneWidthHasTheFormulasBits(width n: Int) {
        for rows in [2, 5, 64] {
            let stride = n + 3
            var z0 = Self.values(rows * stride, seed: n * 131 + rows)
            if n > 2 { z0[stride + 2] = .infinity }
            let gamma = (0..<n).map { Float(0.5 + 0.37 * cos(Double($0))) }
            let upstream = Self.values(rows * stride, seed: n * 17 + rows + 5)
            let epsilon = 1e-5
            let reference = Self.referenceForward(z0, stride: stride, rows: rows, width: n, gamma: gamma, epsilon: epsilon)
            let referenceBackward = Self.referenceBackward(
                upstream, normalized: reference.z, stride: stride, rows: rows, width: n, gamma: gamma,
                inverse: reference.inverse)
            for lanes: Int32 in [16, 8, 1] {
                dpt_kernels_limit_lanes(lanes)
                defer { dpt_kernels_limit_lanes(16) }
                var z = z0, y = [Float](repeating: -7, count: z0.count), inverse = [Float](repeating: -7, count: n)
                var mean = [Float](repeating: -7, count: n), variance = [Float](repeating: -7, count: n)
                dpt_batchnorm_forward(&z, stride, &y, stride, gamma, &inverse, &mean, &variance, rows, n, epsilon)
                var g = upstream, shift = [Float](repeating: -7, count: n), scale = [Float](repeating: -7, count: n)
                dpt_batchnorm_backward(&g, stride, z, stride, gamma, inverse, &shift, &scale, rows, n)
                let what = "\(lanes) lanes, \(rows) × \(n)"
                #expect(Self.differences(z, reference.z) == 0, "x̂, \(what)")
                #expect(Self.differences(y, reference.y) == 0, "y, \(what)")
                #expect(Self.differences(inverse, reference.inverse) == 0, "1/σ, \(what)")
                #expect(Self.differences(mean, reference.mean) == 0, "mean, \(what)")
                #expect(Self.differences(variance, reference.variance) == 0, "variance, \(what)")
                #expect(Self.differences(g, referenceBackward.g) == 0, "dz, \(what)")
                #expect(Self.differences(shift, referenceBackward.shift) == 0, "dβ, \(what)")
                #expect(Self.differences(scale, referenceBackward.scale) == 0, "dγ, \(what)")
            }
        }
    }

    @Test("without mean and variance outputs the forward writes the same x̂ and γ·x̂")
    func statisticsOutputsAreOptional() {
        let rows = 6, n = 41
        let z0 = Self.values(rows * n, seed: 3)
        let gamma = [Float](repeating: 1.25, count: n)
        var withStatistics = z0, without = z0
        var y1 = [Float](repeating: 0, count: z0.count), y2 = y1
        var inverse1 = [Float](repeating: 0, count: n), inverse2 = inverse1
        var mean = [Float](repeating: 0, count: n), variance = mean
        dpt_batchnorm_forward(&withStatistics, n, &y1, n, gamma, &inverse1, &mean, &variance, rows, n, 1e-3)
        dpt_batchnorm_forward(&without, n, &y2, n, gamma, &inverse2, nil, nil, rows, n, 1e-3)
        #expect(Self.differences(withStatistics, without) == 0)
        #expect(Self.differences(y1, y2) == 0)
        #expect(Self.differences(inverse1, inverse2) == 0)
        #expect(mean.contains { $0 != 0 } && variance.allSatisfy { $0 > 0 })
    }

    /// Values over many magnitudes, with ±0 and subnormals.
    static func values(_ count: Int, seed: Int) -> [Float] {
        let specials: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNormalMagnitude, 1e30, -3e-20]
        return (0..<count).map { (i: Int) -> Float in
            if i % 11 == 4 { return specials[(i / 11 + seed) % specials.count] }
            let x = sin(Double(i * 7 + seed) * 0.61)
            return Float(x * pow(10, Double((i + seed) % 5) - 2))
        }
    }

    /// Elements whose bits differ (any NaN equals any NaN).
    static func differences(_ a: [Float], _ b: [Float]) -> Int {
        zip(a, b).filter { $0.bitPattern != $1.bitPattern && !($0.isNaN && $1.isNaN) }.count
    }

    /// The formulas, column by column (BatchNormalization.swift's legend).
    static func referenceForward(
        _ z0: [Float], stride: Int, rows: Int, width: Int, gamma: [Float], epsilon: Double
    ) -> (z: [Float], y: [Float], inverse: [Float], mean: [Float], variance: [Float]) {
        var z = z0, y = [Float](repeating: -7, count: z0.count)
        var inverse = [Float](repeating: 0, count: width), means = inverse, variances = inverse
        for j in 0..<width {
            var sum = 0.0
            for i in 0..<rows { sum += Double(z[i * stride + j]) }
            let mean = sum / Double(rows)
            var squares = 0.0
            for i in 0..<rows {
                let deviation = Double(z[i * stride + j]) - mean
                squares += deviation * deviation
            }
            inverse[j] = Float(1 / (squares / Double(rows) + epsilon).squareRoot())
            means[j] = Float(mean)
            variances[j] = Float(squares / Double(rows - 1))
            for i in 0..<rows {
                let normalized = (z[i * stride + j] - Float(mean)) * inverse[j]
                z[i * stride + j] = normalized
                y[i * stride + j] = gamma[j] * normalized
            }
        }
        return (z, y, inverse, means, variances)
    }

    static func referenceBackward(
        _ g0: [Float], normalized x: [Float], stride: Int, rows: Int, width: Int, gamma: [Float], inverse: [Float]
    ) -> (g: [Float], shift: [Float], scale: [Float]) {
        var g = g0
        var shifts = [Float](repeating: 0, count: width), scales = shifts
        for j in 0..<width {
            var shift = 0.0, scale = 0.0
            for i in 0..<rows {
                shift += Double(g[i * stride + j])
                scale += Double(g[i * stride + j]) * Double(x[i * stride + j])
            }
            shifts[j] = Float(shift)
            scales[j] = Float(scale)
            let factor = gamma[j] * inverse[j]
            for i in 0..<rows {
                let value = g[i * stride + j]
                g[i * stride + j] = factor * (value - Float(shift / Double(rows)) - x[i * stride + j] * Float(scale / Double(rows)))
            }
        }
        return (g, shifts, scales)
    }
}
