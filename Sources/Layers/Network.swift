// Network: a stack of Dense layers over the flat arena, with forward and
// backward passes for one micro-batch.
//
// Legend: m = rows of the micro-batch; n_l = width of layer l (n_0 = input);
//   D_0 = X (m, n_0);  Z_l = D_{l-1}·W_l (m, n_l)
//   Y_l = Z_l + b_l, or with batch normalization Y_l = γ_l·x̂_l + β_l (BatchNormalization.swift)
//   A_l = f_l(Y_l);    D_l = A_l ⊙ M_l with dropout (Dropout.swift), else D_l = A_l
// Backward, from dY_L (given by the loss) down:
//   without BN: db_l = Σ_rows dY_l and dZ_l = dY_l; with BN: dβ_l, dγ_l, dZ_l from dY_l
//   dW_l = D_{l-1}ᵀ·dZ_l (n_{l-1}, n_l)    dD_{l-1} = dZ_l·W_lᵀ (m, n_{l-1})
//   dA_{l-1} = dD_{l-1} ⊙ M_{l-1}          dY_{l-1} = dA_{l-1} ⊙ f'_{l-1}(Y_{l-1})
// The activation's derivative takes the pre-dropout A_l; the next layer's GEMM
// and dW take the dropped D_l.
// Weights are stored (in, out), so the forward is A·W with no transpose.
// Every GEMM sees exactly one micro-batch (M = m forward and for dA, K = m
// for dW), cut into fixed tiles by `Gemm` (DESIGN.md 3).
// Accumulating a micro-batch's gradients computes them apart and then adds
// them, so the result has the bits of "each micro-batch, then the sum" that
// another rank split would produce; weight gradients are added tile by tile
// right after each tile's product (Gemm.multiply(…adding:…)). dnnl_sgemm's
// own beta = 1 does not give those bits for K = m > 384, for a layer of
// width 1, or (with its AVX2 kernels) for K = m ≥ 128 (see GemmTests), and is
// slower.

import Engine

/// A feedforward network laid out over a parameter arena.
public final class Network {
    /// What the network is.
    public let spec: ModelSpec
    /// Where its tensors live in the arena.
    public let layout: ParameterLayout
    /// Where its batch-norm running statistics live (empty without batch normalization).
    public let statisticsLayout: StatisticsLayout
    /// Per layer: the arena range of its tensors after the weights (bias,
    /// slopes, γ, β and padding) — its "tail".
    public let tailRanges: [Range<Int>]
    /// Per layer: where its tail starts in a compact tails buffer (`tailCount` floats).
    public let tailOffsets: [Int]
    /// Floats of a compact tails buffer: every layer's tail, in layer order.
    public let tailCount: Int

    public init(_ spec: ModelSpec) {
        do {
            try spec.validate()
        } catch {
            preconditionFailure("Network: \(error.description)")
        }
        self.spec = spec
        let layout = ParameterLayout(spec)
        self.layout = layout
        self.statisticsLayout = StatisticsLayout(spec)
        tailRanges = layout.layers.indices.map { index in
            layout.layers[index].bias..<(index + 1 < layout.layers.count ? layout.layers[index + 1].weight : layout.count)
        }
        var offsets: [Int] = []
        var total = 0
        for range in tailRanges {
            offsets.append(total)
            total += range.count
        }
        tailOffsets = offsets
        tailCount = total
    }

    /// Number of parameters in the arena (with alignment padding).
    public var parameterCount: Int { layout.count }

    /// Number of floats of the running statistics (and of one micro-batch's batch statistics).
    public var statisticsCount: Int { statisticsLayout.count }

    /// Widest layer, input included.
    public var maximumWidth: Int { spec.layers.reduce(spec.inputWidth) { max($0, $1.width) } }

    /// Writes initial values into `parameters`: weights from `initializer` (or
    /// each layer's default), biases zero, PReLU slopes at their initial value,
    /// batch-norm γ = 1 and β = 0.
    public func initialize(_ parameters: FloatBuffer, rng: CounterRNG, initializer: Initializer? = nil) {
        precondition(parameters.count == layout.count, "arena has \(parameters.count) floats, layout needs \(layout.count)")
        parameters.fill(0)
        var fanIn = spec.inputWidth
        for (index, layer) in spec.layers.enumerated() {
            let offsets = layout.layers[index]
            let weights = UnsafeMutableBufferPointer(start: parameters.pointer + offsets.weight, count: fanIn * layer.width)
            (initializer ?? Initializer.default(for: layer.activation))
                .fill(weights, fanIn: fanIn, fanOut: layer.width, layer: index, rng: rng)
            if let slope = offsets.slope, case .prelu(let initial) = layer.activation {
                (parameters.pointer + slope).update(repeating: initial, count: layer.width)
            }
            if let normalization = offsets.normalization {
                (parameters.pointer + normalization.scale).update(repeating: 1, count: layer.width)
            }
            fanIn = layer.width
        }
    }

    private func weights(_ layer: Int, _ arena: FloatBuffer) -> Matrix {
        let fanIn = layer == 0 ? spec.inputWidth : spec.layers[layer - 1].width
        return Matrix(arena.pointer + layout.layers[layer].weight, rows: fanIn, columns: spec.layers[layer].width)
    }

    private func slopes(_ layer: Int, _ arena: FloatBuffer) -> UnsafeMutablePointer<Float>? {
        layout.layers[layer].slope.map { arena.pointer + $0 }
    }

    /// Training forward of one micro-batch: fills the workspace and returns
    /// the logits Y_L (m, k).
    ///
    /// - key: where the micro-batch sits (epoch, global position of its first
    ///   row); required when the network has dropout, whose masks it addresses.
    /// - batchStatistics: when given (`statisticsCount` floats, `statisticsLayout`),
    ///   receives each batch-normalized layer's batch mean and unbiased
    ///   variance (m − 1 divisor) over the micro-batch's m rows. Normalisation
    ///   itself uses the biased variance. Batch normalization needs m ≥ 2.
    @discardableResult
    public func forward(
        _ input: Matrix, parameters: FloatBuffer, workspace: Workspace, pool: ThreadPool,
        key: MicroBatchKey? = nil, batchStatistics: UnsafeMutableBufferPointer<Float>? = nil
    ) -> Matrix {
        precondition(input.columns == spec.inputWidth && input.rows <= workspace.rows,
                     "forward: input (\(input.rows), \(input.columns)) for a \(spec.inputWidth)-wide network with \(workspace.rows)-row workspace")
        precondition(key != nil || !spec.usesDropout, "forward: the network has dropout; pass the micro-batch's key")
        precondition(input.rows >= 2 || !spec.usesBatchNormalization,
                     "forward: batch normalization needs at least 2 rows, got \(input.rows)")
        precondition(batchStatistics.map { $0.count == statisticsLayout.count } ?? true,
                     "forward: batch statistics need \(statisticsLayout.count) floats")
        let m = input.rows
        let statisticsBase = batchStatistics?.baseAddress
        var previous = input
        for (index, layer) in spec.layers.enumerated() {
            let offsets = layout.layers[index]
            let y = workspace.preActivation[index].topRows(m)
            let a = workspace.activation[index].topRows(m)
            var bias = UnsafePointer(parameters.pointer + offsets.bias)
            if let normalization = layer.normalization, let tensors = offsets.normalization,
               let normalized = workspace.normalized[index], let inverse = workspace.inverseStandardDeviation[index] {
                let z = normalized.topRows(m)
                Gemm.multiply(previous, weights(index, parameters), into: z, pool: pool)
                let statistics = statisticsLayout.layers[index]
                normalization.forward(
                    z, scale: parameters.pointer + tensors.scale, output: y, inverseStandardDeviation: inverse.pointer,
                    mean: statisticsBase.flatMap { base in statistics.map { base + $0.mean } },
                    variance: statisticsBase.flatMap { base in statistics.map { base + $0.variance } }, pool: pool)
                bias = UnsafePointer(parameters.pointer + tensors.shift)
            } else {
                Gemm.multiply(previous, weights(index, parameters), into: y, pool: pool)
            }
            layer.activation.forward(preActivation: y, bias: bias, output: a, slopes: slopes(index, parameters), pool: pool)
            if layer.dropout != 0, let key, let mask = workspace.dropoutMask[index], let dropped = workspace.dropped[index] {
                Dropout.forward(
                    rate: layer.dropout, layer: index, key: key, activation: a, mask: mask.topRows(m),
                    output: dropped.topRows(m), pool: pool)
            }
            previous = workspace.output(index).topRows(m)
        }
        return workspace.preActivation[spec.layers.count - 1].topRows(m)
    }

    /// Backward of the micro-batch last run through `forward`.
    ///
    /// - outputGradient: dY_L (m, k), consumed (overwritten).
    /// - gradients: arena-shaped; receives dW, db (and dα, dγ, dβ) of this
    ///   micro-batch, or has them added when `accumulate` is true (computed
    ///   apart, then added: the bits of "each micro-batch, then the sum").
    /// - layerFinished: called with l, last layer first, once all of layer l's
    ///   gradients (its whole arena range) are written.
    ///
    /// The training loop runs blocks of micro-batches through `backwardData`,
    /// `sumWeightGradients` and `sumTails` instead; this is one of them.
    public func backward(
        _ input: Matrix, outputGradient: Matrix, parameters: FloatBuffer, gradients: FloatBuffer,
        accumulate: Bool, workspace: Workspace, pool: ThreadPool, layerFinished: (Int) -> Void = { _ in }
    ) {
        workspace.prepareBackward()
        let m = input.rows
        let last = workspace.layerGradients[spec.layers.count - 1].topRows(m)
        for row in 0..<m {
            (last.pointer + row * last.rowStride).update(
                from: outputGradient.pointer + row * outputGradient.rowStride, count: last.columns)
        }
        let tails = FloatBuffer(count: tailCount)
        backwardData(rows: m, parameters: parameters, tails: tails.pointer, workspace: workspace, pool: pool)
        var carry = [gradients.pointer]
        carry.withUnsafeMutableBufferPointer { carry in
            let chain = UnsafeBufferPointer(rebasing: carry[0..<(accumulate ? 1 : 0)])
            for index in stride(from: spec.layers.count - 1, through: 0, by: -1) {
                sumWeightGradients(
                    layer: index, inputs: [input], workspaces: [workspace], into: gradients.pointer, carry: chain,
                    pool: pool)
                sumTails(layer: index, tails: [tails.pointer], into: gradients.pointer, carry: chain)
                layerFinished(index)
            }
        }
    }

    /// Backward of the micro-batch last run through `forward` with
    /// `workspace`, all but the weight gradients: takes dY_L in
    /// `workspace.layerGradients[L − 1]` (first `rows` rows), leaves dZ_l of
    /// every layer in `workspace.layerGradients[l]` (the operands of
    /// `sumWeightGradients`) and the gradients of every layer's tail (bias,
    /// slopes, γ, β) in `tails` (`tailCount` floats, `tailOffsets`).
    public func backwardData(
        rows m: Int, parameters: FloatBuffer, tails: UnsafeMutablePointer<Float>, workspace: Workspace, pool: ThreadPool
    ) {
        workspace.prepareBackward()
        for index in stride(from: spec.layers.count - 1, through: 0, by: -1) {
            let offsets = layout.layers[index]
            let width = spec.layers[index].width
            let dZ = workspace.layerGradients[index].topRows(m)
            let tail = tails + tailOffsets[index] - tailRanges[index].lowerBound
            if let tensors = offsets.normalization, let normalized = workspace.normalized[index],
               let inverse = workspace.inverseStandardDeviation[index] {
                // dY → dZ in place, with dβ and dγ.
                BatchNormalization.backward(
                    dZ, normalized: normalized.topRows(m), scale: parameters.pointer + tensors.scale,
                    inverseStandardDeviation: inverse.pointer, shiftGradient: tail + tensors.shift,
                    scaleGradient: tail + tensors.scale, pool: pool)
                // The bias is cancelled by the normalisation: its gradient is exactly 0.
                (tail + offsets.bias).update(repeating: 0, count: width)
            } else {
                ColumnSums.sum(dZ, into: tail + offsets.bias, pool: pool)
            }
            if index == 0 { break }

            let below = index - 1
            let dA = workspace.layerGradients[below].topRows(m)
            Gemm.multiply(dZ, weights(index, parameters), transposeB: true, into: dA, pool: pool)
            if let mask = workspace.dropoutMask[below] {
                Dropout.backward(dA, mask: mask.topRows(m), pool: pool)
            }
            let y = workspace.preActivation[below].topRows(m)
            if let slopeOffset = layout.layers[below].slope {
                ColumnSums.preluSlopeGradient(
                    outputGradient: dA, preActivation: y,
                    into: tails + tailOffsets[below] - tailRanges[below].lowerBound + slopeOffset, pool: pool)
            }
            spec.layers[below].activation.backward(
                gradient: dA, preActivation: y, output: workspace.activation[below].topRows(m),
                slopes: slopes(below, parameters), pool: pool)
        }
    }

    /// Layer `layer`'s weight gradient over the micro-batches of
    /// `workspaces` (each after `backwardData`; `inputs` are their inputs):
    /// the balanced-tree sum T over micro-batches of D_{l−1}ᵀ·dZ_l, carried
    /// through the arena-shaped buffers `carry` (innermost first): the last
    /// of them receives carry_k + (… + (carry_1 + T)); with no carry, `target`
    /// receives T. Inputs, workspaces and carry are read at the layer's offset.
    public func sumWeightGradients(
        layer index: Int, inputs: ArraySlice<Matrix>, workspaces: ArraySlice<Workspace>,
        into target: UnsafeMutablePointer<Float>, carry: UnsafeBufferPointer<UnsafeMutablePointer<Float>>,
        pool: ThreadPool
    ) {
        let count = workspaces.count
        precondition(count > 0 && inputs.count == count, "sumWeightGradients: \(inputs.count) inputs for \(count) workspaces")
        precondition(carry.count <= Workspace.maximumAddends, "sumWeightGradients: \(carry.count) carry buffers is too many")
        guard let lead = workspaces.first else { return }
        let operands = lead.operandStorage(2 * count)
        for (i, (input, workspace)) in zip(inputs, workspaces).enumerated() {
            let m = input.rows
            operands[i] = index == 0 ? input : workspace.output(index - 1).topRows(m)
            operands[count + i] = workspace.layerGradients[index].topRows(m)
        }
        let offset = layout.layers[index].weight
        for (j, buffer) in carry.enumerated() { lead.addendPointers[j] = UnsafePointer(buffer + offset) }
        let fanIn = index == 0 ? spec.inputWidth : spec.layers[index - 1].width
        Gemm.sumOfProducts(
            UnsafeBufferPointer(rebasing: operands[0..<count]), transposeA: true,
            UnsafeBufferPointer(rebasing: operands[count..<(2 * count)]),
            into: Matrix((carry.last ?? target) + offset, rows: fanIn, columns: spec.layers[index].width),
            adding: UnsafeBufferPointer(rebasing: lead.addendPointers[0..<carry.count]),
            scratch: lead.tileScratch(floats: pool.threadCount * Gemm.sumScratchPerThread(rows: fanIn, count: count)),
            pool: pool)
    }

    /// Layer `layer`'s tail gradients over micro-batches: the balanced-tree
    /// sum of the `tails` buffers' part of the layer (destroyed on the way),
    /// carried like `sumWeightGradients` into the arena.
    public func sumTails(
        layer index: Int, tails: ArraySlice<UnsafeMutablePointer<Float>>, into target: UnsafeMutablePointer<Float>,
        carry: UnsafeBufferPointer<UnsafeMutablePointer<Float>>
    ) {
        let range = tailRanges[index]
        let start = tailOffsets[index]
        let count = range.count
        let first = tails.startIndex
        BalancedTree.reduceInPlace(tails.count) { into, from in
            let x = tails[first + into] + start
            let y = tails[first + from] + start
            for j in 0..<count { x[j] += y[j] }
        }
        let x = tails[first] + start
        for buffer in carry.dropLast() {
            let s = buffer + range.lowerBound
            for j in 0..<count { x[j] = s[j] + x[j] }
        }
        let destination = (carry.last ?? target) + range.lowerBound
        if let outermost = carry.last {
            let s = outermost + range.lowerBound
            for j in 0..<count { destination[j] = s[j] + x[j] }
        } else {
            destination.update(from: x, count: count)
        }
    }

    /// Evaluation forward of up to `workspace.rows` rows: returns the logits
    /// (m, k), computed in place in the workspace's ping-pong buffers. Dropout
    /// is the identity; batch normalization uses `runningStatistics`
    /// (`statisticsLayout`), required when the network has it.
    public func infer(
        _ input: Matrix, parameters: FloatBuffer, runningStatistics: FloatBuffer? = nil, workspace: Workspace,
        pool: ThreadPool
    ) -> Matrix {
        precondition(runningStatistics != nil || !spec.usesBatchNormalization,
                     "infer: the network has batch normalization; pass its running statistics")
        precondition(runningStatistics.map { $0.count == statisticsLayout.count } ?? true,
                     "infer: running statistics need \(statisticsLayout.count) floats")
        let m = input.rows
        var previous = input
        for (index, layer) in spec.layers.enumerated() {
            let offsets = layout.layers[index]
            let z = workspace.gradient[index % 2].topRows(m).withColumns(layer.width)
            Gemm.multiply(previous, weights(index, parameters), into: z, pool: pool)
            var bias = UnsafePointer(parameters.pointer + offsets.bias)
            if let normalization = layer.normalization, let tensors = offsets.normalization,
               let statistics = statisticsLayout.layers[index], let running = runningStatistics {
                normalization.normalizeForEvaluation(
                    z, runningMean: running.pointer + statistics.mean, runningVariance: running.pointer + statistics.variance,
                    scale: parameters.pointer + tensors.scale, factor: workspace.normalizationScratch.pointer, pool: pool)
                bias = UnsafePointer(parameters.pointer + tensors.shift)
            }
            layer.activation.forwardInPlace(z, bias: bias, slopes: slopes(index, parameters), pool: pool)
            previous = z
        }
        return previous
    }
}

extension Matrix {
    /// The same rows seen with `columns` columns packed densely (columns ≤ rowStride).
    func withColumns(_ columns: Int) -> Matrix {
        Matrix(pointer, rows: rows, columns: columns, rowStride: columns)
    }
}
