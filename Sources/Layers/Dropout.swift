// Inverted dropout (Srivastava et al., "Dropout: A Simple Way to Prevent
// Neural Networks from Overfitting", JMLR 15, 2014; scaled at training time as
// PyTorch's nn.Dropout does): in training d = a ⊙ M with M_ij ∈ {0, 1/(1 − p)},
// backward da = dd ⊙ M, and evaluation is the identity.
//
// The mask is a pure function of (seed, epoch, layer, position, neuron). The
// row at global position q (MicroBatchKey) keeps neuron j of layer l iff
// u ≥ p, where u = (w >> 8)·2⁻²⁴ and w is word j mod 4 of
//   CounterRNG.bits(.dropout, stream: epoch·2⁸ + l, index: q·⌈n/4⌉ + ⌊j/4⌋)
// (one Philox block serves four neurons). Hence at most 256 layers and 2²⁴
// epochs.
//
// Legend: m = rows of the micro-batch, n = width of the layer.

import Engine

enum Dropout {
    /// Layers that may have dropout: the layer index takes 8 bits of the stream.
    static let layerLimit = 256
    /// Epochs a dropout mask can address: the epoch takes 24 bits of the stream.
    static let epochLimit = 1 << 24

    /// The counter stream of layer `layer`'s masks in epoch `epoch`.
    static func stream(epoch: Int, layer: Int) -> UInt32 {
        precondition(layer >= 0 && layer < layerLimit, "dropout: layer \(layer) is beyond the \(layerLimit) a mask can address")
        precondition(epoch >= 0 && epoch < epochLimit, "dropout: epoch \(epoch) is beyond the \(epochLimit) a mask can address")
        return UInt32(epoch) << 8 | UInt32(layer)
    }

    /// Draws the mask of layer `layer` for the micro-batch at `key` into
    /// `mask` (m, n) and writes d = a ⊙ mask into `output` (m, n).
    static func forward(
        rate: Float, layer: Int, key: MicroBatchKey, activation a: Matrix, mask: Matrix, output d: Matrix,
        pool: ThreadPool
    ) {
        precondition(key.firstPosition >= 0, "dropout: negative sample position \(key.firstPosition)")
        let n = a.columns
        let stream = stream(epoch: key.epoch, layer: layer)
        let rng = key.rng
        let first = key.firstPosition
        let kept = 1 / (1 - rate)
        pool.parallelRanges(
            a.rows, grain: max(1, 16_384 / max(n, 1)),
            ForwardRows(a: a, mask: mask, d: d, rng: rng, stream: stream, rate: rate, kept: kept, first: first))
    }

    /// gradient (m, n) ⊙= mask (m, n), in place.
    static func backward(_ gradient: Matrix, mask: Matrix, pool: ThreadPool) {
        let n = gradient.columns
        pool.parallelRanges(
            gradient.rows, grain: max(1, 16_384 / max(n, 1)), BackwardRows(gradient: gradient, mask: mask, n: n))
    }
}

/// Rows of `Dropout.forward`.
private struct ForwardRows: RangeJob {
    let a: Matrix, mask: Matrix, d: Matrix, rng: CounterRNG, stream: UInt32, rate: Float, kept: Float, first: Int

    func run(_ rows: Range<Int>) {
        DropoutRows.forward(
            a, mask: mask, output: d, rows: rows, firstPosition: first, rng: rng, stream: stream, rate: rate, kept: kept)
    }
}

/// Rows of `Dropout.backward`.
private struct BackwardRows: RangeJob {
    let gradient: Matrix, mask: Matrix, n: Int

    func run(_ rows: Range<Int>) {
        for i in rows {
            let gi = gradient.pointer + i * gradient.rowStride
            let mi = mask.pointer + i * mask.rowStride
            for j in 0..<n { gi[j] *= mi[j] }
        }
    }
}
