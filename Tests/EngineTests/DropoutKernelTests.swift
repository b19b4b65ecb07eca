// The dropout kernel: at every lane width its mask and output are the
// Philox draws the Swift formula addresses (CounterRNG.bits), neuron by
// neuron, for widths with and without a partial block or pass, at row
// strides, and where a row's block index carries into its high word.

import CKernels
import Engine
import Foundation
import Testing

@Suite(.serialized) struct DropoutKernelTests {
    static let widths = [1, 3, 4, 31, 32, 33, 100, 1024]

    @Test("mask and output are the addressed draws at 16, 8 and 1 lanes", arguments: widths)
    func theKernelDrawsTheAddressedMask(width n: Int) {
        let rows = 5, stride = n + 3
        let rng = CounterRNG(seed: 0x1234_5678_9ABC_DEF0)
        let rate: Float = 0.3, kept: Float = 1 / (1 - 0.3)
        let stream: UInt32 = 7 << 8 | 2
        let blocks = (n + 3) / 4
        // Row 2 holds block index 2³² − 1: the index's high word changes within it (or right after).
        let firstPosition = Int(((UInt64(1) << 32) - 1) / UInt64(blocks)) - 2
        let a = FloatBuffer(count: rows * stride)
        for i in 0..<a.count { a.pointer[i] = Float(sin(Double(i) * 0.37)) * 10 }
        for lanes: Int32 in [16, 8, 1] {
            dpt_kernels_limit_lanes(lanes)
            defer { dpt_kernels_limit_lanes(16) }
            let mask = FloatBuffer(count: rows * stride), d = FloatBuffer(count: rows * stride)
            mask.fill(-1)
            d.fill(-1)
            // Rows 1…4 only: the kernel starts at a row that is not the micro-batch's first.
            DropoutRows.forward(
                Matrix(a.pointer, rows: rows, columns: n, rowStride: stride),
                mask: Matrix(mask.pointer, rows: rows, columns: n, rowStride: stride),
                output: Matrix(d.pointer, rows: rows, columns: n, rowStride: stride),
                rows: 1..<rows, firstPosition: firstPosition, rng: rng, stream: stream, rate: rate, kept: kept)
            var wrong = 0
            for i in 0..<rows {
                for j in 0..<stride {
                    let at = i * stride + j
                    var expectedMask: Float = -1, expectedD: Float = -1
                    if i > 0, j < n {
                        let index = UInt64(firstPosition + i) * UInt64(blocks) + UInt64(j / 4)
                        let word = rng.bits(.dropout, stream: stream, index: index)[j % 4]
                        expectedMask = Float(word >> 8) * 0x1p-24 >= rate ? kept : 0
                        expectedD = a.pointer[at] * expectedMask
                    }
                    if mask.pointer[at].bitPattern != expectedMask.bitPattern || d.pointer[at].bitPattern != expectedD.bitPattern {
                        wrong += 1
                    }
                }
            }
            #expect(wrong == 0, "\(lanes) lanes, width \(n): \(wrong) elements differ")
        }
    }
}
