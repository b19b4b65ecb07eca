// Network: a stack of Dense layers over the flat arena, with forward and
// backward passes for one micro-batch.
//
// Legend: m = rows of the micro-batch; n_l = width of layer l (n_0 = input);
//   A_0 = X (m, n_0);  Z_l = A_{l-1}·W_l + b_l (m, n_l);  A_l = f_l(Z_l)
// Backward, from dZ_L (given by the loss) down:
//   dW_l = A_{l-1}ᵀ·dZ_l (n_{l-1}, n_l)   db_l = Σ_rows dZ_l (n_l)
//   dA_{l-1} = dZ_l·W_lᵀ (m, n_{l-1})      dZ_{l-1} = dA_{l-1} ⊙ f'_{l-1}(Z_{l-1})
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

    public init(_ spec: ModelSpec) {
        self.spec = spec
        self.layout = ParameterLayout(spec)
    }

    /// Number of parameters in the arena (with alignment padding).
    public var parameterCount: Int { layout.count }

    /// Widest layer, input included.
    public var maximumWidth: Int { spec.layers.reduce(spec.inputWidth) { max($0, $1.width) } }

    /// Writes initial values into `parameters`: weights from `initializer` (or
    /// each layer's default), biases zero, PReLU slopes at their initial value.
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

    /// Training forward of one micro-batch: fills the workspace's Z_l and A_l
    /// and returns the logits Z_L (m, k).
    @discardableResult
    public func forward(_ input: Matrix, parameters: FloatBuffer, workspace: Workspace, pool: ThreadPool) -> Matrix {
        precondition(input.columns == spec.inputWidth && input.rows <= workspace.rows,
                     "forward: input (\(input.rows), \(input.columns)) for a \(spec.inputWidth)-wide network with \(workspace.rows)-row workspace")
        let m = input.rows
        var previous = input
        for (index, layer) in spec.layers.enumerated() {
            let z = workspace.preActivation[index].topRows(m)
            let a = workspace.activation[index].topRows(m)
            Gemm.multiply(previous, weights(index, parameters), into: z, pool: pool)
            layer.activation.forward(
                preActivation: z, bias: parameters.pointer + layout.layers[index].bias, output: a,
                slopes: slopes(index, parameters), pool: pool)
            previous = a
        }
        return workspace.preActivation[spec.layers.count - 1].topRows(m)
    }

    /// Backward of the micro-batch last run through `forward`.
    ///
    /// - outputGradient: dZ_L (m, k), consumed (overwritten).
    /// - gradients: arena-shaped; receives dW, db (and dα) of this micro-batch,
    ///   or has them added when `accumulate` is true.
    /// - layerFinished: called with l, last layer first, once layer l's gradients are written.
    public func backward(
        _ input: Matrix, outputGradient: Matrix, parameters: FloatBuffer, gradients: FloatBuffer,
        accumulate: Bool, workspace: Workspace, pool: ThreadPool,
        layerFinished: (Int) -> Void = { _ in }
    ) {
        let m = input.rows
        var dZ = outputGradient
        for index in stride(from: spec.layers.count - 1, through: 0, by: -1) {
            let offsets = layout.layers[index]
            let previous = index == 0 ? input : workspace.activation[index - 1].topRows(m)
            let dW = weights(index, gradients)
            if accumulate {
                let scratch = Matrix(workspace.weightScratch.pointer, rows: dW.rows, columns: dW.columns)
                Gemm.multiply(previous, transposeA: true, dZ, into: scratch, pool: pool)
                add(scratch.pointer, into: dW.pointer, count: dW.rows * dW.columns, pool: pool)
            } else {
                Gemm.multiply(previous, transposeA: true, dZ, into: dW, pool: pool)
            }
            columnSums(dZ, into: gradients.pointer + offsets.bias, accumulate: accumulate, workspace: workspace, pool: pool)
            // Layer `index`'s weight, bias and slope gradients are final now
            // (its slopes were done in the layer above's dA step).
            layerFinished(index)
            if index == 0 { break }

            let below = index - 1
            let dA = workspace.gradient[index % 2].topRows(m).withColumns(spec.layers[below].width)
            Gemm.multiply(dZ, weights(index, parameters), transposeB: true, into: dA, pool: pool)
            let z = workspace.preActivation[below].topRows(m)
            if let slopeOffset = layout.layers[below].slope {
                let target = gradients.pointer + slopeOffset
                if accumulate {
                    ColumnSums.preluSlopeGradient(outputGradient: dA, preActivation: z, into: workspace.columnScratch.pointer, pool: pool)
                    add(workspace.columnScratch.pointer, into: target, count: spec.layers[below].width, pool: pool)
                } else {
                    ColumnSums.preluSlopeGradient(outputGradient: dA, preActivation: z, into: target, pool: pool)
                }
            }
            spec.layers[below].activation.backward(
                gradient: dA, preActivation: z, output: workspace.activation[below].topRows(m),
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

    /// target += source, elementwise (so the chunking cannot change the bits).
    private func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool) {
        pool.parallelRanges(count) { range in
            for j in range { target[j] += source[j] }
        }
    }

    /// Evaluation forward of up to `workspace.rows` rows: returns the logits
    /// (m, k), computed in place in the workspace's ping-pong buffers.
    public func infer(_ input: Matrix, parameters: FloatBuffer, workspace: Workspace, pool: ThreadPool) -> Matrix {
        let m = input.rows
        var previous = input
        for (index, layer) in spec.layers.enumerated() {
            let z = workspace.gradient[index % 2].topRows(m).withColumns(layer.width)
            Gemm.multiply(previous, weights(index, parameters), into: z, pool: pool)
            layer.activation.forwardInPlace(
                z, bias: parameters.pointer + layout.layers[index].bias, slopes: slopes(index, parameters), pool: pool)
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
