// Inverted dropout's forward rows through the C kernel: the Philox draws of
// Layers/Dropout.swift (which states the mask's address) eight blocks at a
// time with AVX-512, four with AVX2, with the bits of one block at a time.

import CKernels

public enum DropoutRows {
    /// Rows `rows` of a (m, n) activation `a`: the row at global position
    /// `firstPosition + i` keeps neuron j iff (w >> 8)·2⁻²⁴ ≥ `rate`, w word
    /// j mod 4 of `rng.bits(.dropout, stream:, index: (firstPosition + i)·⌈n/4⌉ + ⌊j/4⌋)`;
    /// `mask` gets `kept` or 0 and `d` = a ⊙ mask.
    public static func forward(
        _ a: Matrix, mask: Matrix, output d: Matrix, rows: Range<Int>, firstPosition: Int, rng: CounterRNG,
        stream: UInt32, rate: Float, kept: Float
    ) {
        guard !rows.isEmpty else { return }
        precondition(firstPosition >= 0, "dropout: negative sample position \(firstPosition)")
        var draw = dpt_dropout_draw(
            purpose: RandomPurpose.dropout.rawValue, stream: stream, key0: UInt32(truncatingIfNeeded: rng.seed),
            key1: UInt32(truncatingIfNeeded: rng.seed >> 32), rate: rate, kept: kept)
        let first = rows.lowerBound
        dpt_dropout_rows(
            a.pointer + first * a.rowStride, a.rowStride, mask.pointer + first * mask.rowStride, mask.rowStride,
            d.pointer + first * d.rowStride, d.rowStride, rows.count, a.columns,
            UInt64(firstPosition + first), &draw)
    }
}
