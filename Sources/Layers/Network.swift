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
// for dW), cut into fixed column tiles by `Gemm` (DESIGN.md 3).
// Accumulating a micro-batch's gradients computes them apart and then adds
// them, so the result has the bits of "each micro-batch, then the sum" that
// another rank split would produce. dnnl_sgemm's own beta = 1 does not give
// those bits for K = m > 384 or for a layer of width 1 (see GemmTests).

import Engine

/// A feedforward network laid out over a parameter arena.
public final class Network {
    /// What the network is.
    public let spec: ModelSpec
    /// Where its tensors live in the arena.
    public let layout: ParameterLayout
    /// Where its batch-norm running statistics live (empty without batch normalization).
    public let statisticsLayout: StatisticsLayout

    public init(_ spec: ModelSpec) {
        do {
            try spec.validate()
        } catch {
            preconditionFailure("Network: \(error.description)")
        }
        self.spec = spec
        self.layout = ParameterLayout(spec)
        self.statisticsLayout = StatisticsLayout(spec)
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
                    variance: statisticsBase.flatMap { base in statistics.map { base + $0.variance } },
                    scratch: workspace.sumScratch, pool: pool)
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

    /// Whether adding a micro-batch's weight gradient with `dnnl_sgemm`'s
    /// beta = 1 gives exactly the bits of computing it apart and adding
    /// (fl(C + fl(AᵀB))). Measured on this oneDNN build (EngineTests/GemmTests
    /// keeps the record): true for K = m ≤ 384 when both other dimensions are
    /// at least 2; false beyond K = 384 and for any 1-wide product.
    public func fusedAccumulationIsExact(microBatchSize m: Int) -> Bool {
        m <= 384 && spec.inputWidth >= 2 && spec.layers.allSatisfy { $0.width >= 2 }
    }

    /// Backward of the micro-batch last run through `forward`.
    ///
    /// - outputGradient: dY_L (m, k), consumed (overwritten).
    /// - gradients: arena-shaped; receives dW, db (and dα, dγ, dβ) of this
    ///   micro-batch, or has them added when `accumulate` is true.
    /// - fusedWeightAccumulation: with `accumulate`, add weight gradients with
    ///   GEMM's beta = 1 instead of a separate product and sum (only where
    ///   `fusedAccumulationIsExact` holds: same bits, one pass less).
    /// - layerFinished: called with l, last layer first, once all of layer l's
    ///   gradients (its whole arena range) are written.
    public func backward(
        _ input: Matrix, outputGradient: Matrix, parameters: FloatBuffer, gradients: FloatBuffer,
        accumulate: Bool, fusedWeightAccumulation: Bool = false, workspace: Workspace, pool: ThreadPool,
        layerFinished: (Int) -> Void = { _ in }
    ) {
        precondition(!fusedWeightAccumulation || fusedAccumulationIsExact(microBatchSize: input.rows),
                     "fused weight accumulation is not exact for this network and micro-batch")
        let m = input.rows
        var dZ = outputGradient
        for index in stride(from: spec.layers.count - 1, through: 0, by: -1) {
            let offsets = layout.layers[index]
            let width = spec.layers[index].width
            if let tensors = offsets.normalization, let normalized = workspace.normalized[index],
               let inverse = workspace.inverseStandardDeviation[index] {
                // dY → dZ in place; dβ and dγ go to scratch first, so that an
                // accumulated gradient adds a separately computed one.
                let shiftGradient = workspace.normalizationScratch.pointer
                let scaleGradient = shiftGradient + width
                BatchNormalization.backward(
                    dZ, normalized: normalized.topRows(m), scale: parameters.pointer + tensors.scale,
                    inverseStandardDeviation: inverse.pointer, shiftGradient: shiftGradient, scaleGradient: scaleGradient,
                    scratch: workspace.sumScratch, pool: pool)
                store(shiftGradient, into: gradients.pointer + tensors.shift, count: width, accumulate: accumulate, pool: pool)
                store(scaleGradient, into: gradients.pointer + tensors.scale, count: width, accumulate: accumulate, pool: pool)
                // The bias is cancelled by the normalisation: its gradient is exactly 0.
                if !accumulate { (gradients.pointer + offsets.bias).update(repeating: 0, count: width) }
            } else {
                columnSums(dZ, into: gradients.pointer + offsets.bias, accumulate: accumulate, workspace: workspace, pool: pool)
            }
            let previous = index == 0 ? input : workspace.output(index - 1).topRows(m)
            let dW = weights(index, gradients)
            if accumulate && fusedWeightAccumulation {
                Gemm.multiply(previous, transposeA: true, dZ, into: dW, accumulate: true, pool: pool)
            } else if accumulate {
                let scratch = Matrix(workspace.weightScratch.pointer, rows: dW.rows, columns: dW.columns)
                Gemm.multiply(previous, transposeA: true, dZ, into: scratch, pool: pool)
                add(scratch.pointer, into: dW.pointer, count: dW.rows * dW.columns, pool: pool)
            } else {
                Gemm.multiply(previous, transposeA: true, dZ, into: dW, pool: pool)
            }
            // Layer `index`'s weight, bias, γ, β and slope gradients are final
            // now (its slopes were done in the layer above's dA step).
            layerFinished(index)
            if index == 0 { break }

            let below = index - 1
            let dA = workspace.gradient[index % 2].topRows(m).withColumns(spec.layers[below].width)
            Gemm.multiply(dZ, weights(index, parameters), transposeB: true, into: dA, pool: pool)
            if let mask = workspace.dropoutMask[below] {
                Dropout.backward(dA, mask: mask.topRows(m), pool: pool)
            }
            let y = workspace.preActivation[below].topRows(m)
            if let slopeOffset = layout.layers[below].slope {
                let target = gradients.pointer + slopeOffset
                if accumulate {
                    ColumnSums.preluSlopeGradient(outputGradient: dA, preActivation: y, into: workspace.columnScratch.pointer, pool: pool)
                    add(workspace.columnScratch.pointer, into: target, count: spec.layers[below].width, pool: pool)
                } else {
                    ColumnSums.preluSlopeGradient(outputGradient: dA, preActivation: y, into: target, pool: pool)
                }
            }
            spec.layers[below].activation.backward(
                gradient: dA, preActivation: y, output: workspace.activation[below].topRows(m),
                slopes: slopes(below, parameters), pool: pool)
            dZ = dA
        }
    }

    private func columnSums(
        _ dZ: Matrix, into target: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: Workspace, pool: ThreadPool
    ) {
        if accumulate {
            ColumnSums.sum(dZ, into: workspace.columnScratch.pointer, pool: pool)
            add(workspace.columnScratch.pointer, into: target, count: dZ.columns, pool: pool)
        } else {
            ColumnSums.sum(dZ, into: target, pool: pool)
        }
    }

    /// target = source, or target += source when accumulating.
    private func store(
        _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int, accumulate: Bool,
        pool: ThreadPool
    ) {
        if accumulate {
            add(source, into: target, count: count, pool: pool)
        } else {
            target.update(from: source, count: count)
        }
    }

    /// target += source, elementwise (so the chunking cannot change the bits).
    private func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool) {
        pool.parallelRanges(count) { range in
            for j in range { target[j] += source[j] }
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
