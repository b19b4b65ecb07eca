// The C kernels behind the elementwise sums and the NaN/Inf scan: every lane
// width (AVX-512, AVX2, one element) gives the bits of the Swift formula, for
// lengths with and without a tail.

import CKernels
import Engine
import Foundation
import Testing

@Suite(.serialized) struct ElementwiseKernelTests {
    static let lengths = [1, 7, 16, 33, 100, 1000]
    static let lanes: [Int32] = [1, 8, 16]

    /// Limiting the lanes cannot disturb tests running beside these: every width gives the same bits.
    private func forEachLaneWidth(_ body: (Int32) -> Void) {
        for width in Self.lanes {
            dpt_kernels_limit_lanes(width)
            body(width)
        }
        dpt_kernels_limit_lanes(16)
    }

    @Test(arguments: lengths)
    func sumsHaveTheBitsOfSwiftAdditionWithStrides(width: Int) {
        let rows = 3, stride = width + 5
        let a = (0..<(rows * stride)).map { Float(sin(Double($0) * 0.37)) * 1e3 }
        let b = (0..<(rows * stride)).map { Float(cos(Double($0) * 0.91)) * 1e-3 }
        forEachLaneWidth { lanes in
            var out = [Float](repeating: -1, count: rows * stride)
            out.withUnsafeMutableBufferPointer { o in
                dpt_add_matrices(o.baseAddress, stride, a, stride, b, stride, rows, width)
            }
            for row in 0..<rows {
                for j in 0..<stride {
                    let i = row * stride + j
                    // Past `width` in a row nothing is written.
                    let expected = j < width ? a[i] + b[i] : -1
                    #expect(out[i].bitPattern == expected.bitPattern, "\(lanes) lanes, row \(row), column \(j)")
                }
            }
        }
    }

    @Test(arguments: lengths)
    func aChainHasTheBitsOfItsPairwiseSums(width: Int) {
        // Inputs of mixed magnitudes, each at its own row stride; the first is also the output.
        let rows = 3
        for count in 2...Int(DPT_CHAIN_MAX) {
            let strides = (0..<count).map { width + 2 + 3 * $0 }
            let inputs = (0..<count).map { k in
                (0..<(rows * strides[k])).map { Float(sin(Double($0 * (k + 2)) * 0.37)) * powf(10, Float(3 - 2 * k)) }
            }
            forEachLaneWidth { lanes in
                var out = inputs[0]
                let others = inputs[1...].map { values in
                    let copy = UnsafeMutablePointer<Float>.allocate(capacity: values.count)
                    copy.initialize(from: values, count: values.count)
                    return copy
                }
                defer { others.forEach { $0.deallocate() } }
                out.withUnsafeMutableBufferPointer { o in
                    let pointers: [UnsafePointer<Float>?] = [UnsafePointer(o.baseAddress)] + others.map { UnsafePointer($0) }
                    dpt_add_chain(o.baseAddress, strides[0], pointers, strides, Int32(count), rows, width)
                }
                for row in 0..<rows {
                    for j in 0..<strides[0] {
                        let i = row * strides[0] + j
                        // in[0] + (in[1] + (… + (in[n − 2] + in[n − 1]))); past `width` nothing is written.
                        var expected = inputs[count - 2][row * strides[count - 2] + j] + inputs[count - 1][row * strides[count - 1] + j]
                        for k in stride(from: count - 3, through: 0, by: -1) { expected = inputs[k][row * strides[k] + j] + expected }
                        if j >= width { expected = inputs[0][i] }
                        #expect(out[i].bitPattern == expected.bitPattern, "\(count) inputs, \(lanes) lanes, row \(row), column \(j)")
                    }
                }
            }
        }
    }

    /// Values with every sign case a mask can get wrong: ±0, NaN, ±Inf, tiny and large.
    static func awkward(_ count: Int, seed: Int) -> [Float] {
        let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, 1e-40, -1e-40, 3e38, -3e38]
        return (0..<count).map { i in
            (i + seed) % 5 == 0 ? specials[(i / 5 + seed) % specials.count] : Float(sin(Double(i * 7 + seed))) * 10
        }
    }

    @Test(arguments: lengths)
    func biasAndReLUHaveTheBitsOfTheSwiftFormulas(width: Int) {
        let rows = 3, stride = width + 2
        let z = Self.awkward(rows * stride, seed: 1)
        let bias = Self.awkward(width, seed: 3)
        forEachLaneWidth { lanes in
            for relu in [false, true] {
                var y = z
                var a = [Float](repeating: 7, count: rows * stride)
                y.withUnsafeMutableBufferPointer { y in
                    a.withUnsafeMutableBufferPointer { a in
                        dpt_bias_activation(y.baseAddress, stride, a.baseAddress, stride, bias, rows, width, relu ? 1 : 0)
                    }
                }
                for row in 0..<rows {
                    for j in 0..<stride {
                        let i = row * stride + j
                        let sum = j < width ? z[i] + bias[j] : z[i]
                        let activated = j < width ? (relu ? max(sum, 0) : sum) : 7
                        #expect(y[i].bitPattern == sum.bitPattern, "\(lanes) lanes, relu \(relu), z at \(row), \(j)")
                        #expect(a[i].bitPattern == activated.bitPattern, "\(lanes) lanes, relu \(relu), a at \(row), \(j)")
                    }
                }
            }
        }
    }

    @Test(arguments: lengths)
    func theReLUMaskAndColumnSumsHaveTheBitsOfTheSwiftFormulas(width: Int) {
        let rows = 5, stride = width + 3
        let z = Self.awkward(rows * stride, seed: 2)
        let g = Self.awkward(rows * stride, seed: 4)
        forEachLaneWidth { lanes in
            var masked = g
            masked.withUnsafeMutableBufferPointer { dpt_relu_mask($0.baseAddress, stride, z, stride, rows, width) }
            for i in 0..<(rows * stride) {
                let expected = i % stride < width && z[i] <= 0 ? 0 : g[i]
                #expect(masked[i].bitPattern == expected.bitPattern, "\(lanes) lanes, mask at \(i)")
            }
            var sums = [Float](repeating: 7, count: width + 1)
            sums.withUnsafeMutableBufferPointer { dpt_column_sums(g, stride, rows, $0.baseAddress, width) }
            for j in 0..<width {
                var expected: Float = 0
                for row in 0..<rows { expected += g[row * stride + j] }
                #expect(sums[j].bitPattern == expected.bitPattern, "\(lanes) lanes, column \(j)")
            }
            #expect(sums[width] == 7, "\(lanes) lanes: nothing written past the width")
        }
    }

    @Test(arguments: lengths)
    func theScanFindsEveryNonFiniteValueWherever(count: Int) {
        let finite = (0..<count).map { Float(sin(Double($0))) * .greatestFiniteMagnitude }
        forEachLaneWidth { lanes in
            #expect(!Elementwise.containsNonFinite(finite, count: count), "\(lanes) lanes")
            for bad in [Float.nan, .infinity, -.infinity, -Float.nan] {
                for position in Set([0, count / 2, count - 1]) {
                    var values = finite
                    values[position] = bad
                    #expect(Elementwise.containsNonFinite(values, count: count), "\(lanes) lanes, \(bad) at \(position)")
                }
            }
            // Only the first `count - 1` are looked at.
            var tail = finite
            tail[count - 1] = .nan
            #expect(!Elementwise.containsNonFinite(tail, count: count - 1), "\(lanes) lanes")
        }
    }

    @Test func denormalsZerosAndTheLargestFiniteValueAreFinite() {
        let values: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
                               -.greatestFiniteMagnitude, 1, -1, 3e-39, 65504, 1e38, -1e-45, 2, 4, 8, 16, 32]
        forEachLaneWidth { lanes in
            #expect(!Elementwise.containsNonFinite(values, count: values.count), "\(lanes) lanes")
        }
    }
}

@Suite(.serialized) struct StreamCopyTests {
    @Test("the streaming copy writes exactly the n floats, at any alignment and lane width",
          arguments: [0, 1, 15, 63, 64, 65, 100, 1000, 4099])
    func copiesExactlyTheFloats(count n: Int) {
        let source = (0..<(n + 20)).map { Float(bitPattern: UInt32(truncatingIfNeeded: $0 &* 2_654_435_761)) }
        for lanes: Int32 in [16, 8, 1] {
            dpt_kernels_limit_lanes(lanes)
            defer { dpt_kernels_limit_lanes(16) }
            for shift in 0..<17 {
                var destination = [Float](repeating: -1, count: n + 40)
                destination.withUnsafeMutableBufferPointer { d in
                    source.withUnsafeBufferPointer { s in dpt_stream_copy(d.baseAddress! + shift, s.baseAddress! + 3, n) }
                }
                let copied = (0..<n).allSatisfy { destination[shift + $0].bitPattern == source[3 + $0].bitPattern }
                let untouched = (0..<shift).allSatisfy { destination[$0] == -1 }
                    && ((shift + n)..<(n + 40)).allSatisfy { destination[$0] == -1 }
                #expect(copied && untouched, "\(lanes) lanes, \(n) floats at offset \(shift)")
            }
        }
    }
}
