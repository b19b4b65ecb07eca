// Workspace: the activations and gradient scratch of one micro-batch, planned
// once per (network, rows) so that no step allocates.

import Engine

/// Buffers for forward and backward passes over at most `rows` rows.
public final class Workspace {
    /// Largest micro-batch the workspace holds.
    public let rows: Int
    /// Input of each layer's activation, (rows, n_l): Z_l, or γ·x̂ + β with batch normalization.
    public let preActivation: [Matrix]
    /// A_l = f(preActivation) per layer, (rows, n_l), before dropout.
    public let activation: [Matrix]
    /// Per layer with dropout: the mask, (rows, n_l), each entry 0 or 1/(1 − p).
    public let dropoutMask: [Matrix?]
    /// Per layer with dropout: A_l ⊙ mask, (rows, n_l), the next layer's input.
    public let dropped: [Matrix?]
    /// Per batch-normalized layer: x̂_l, (rows, n_l).
    public let normalized: [Matrix?]
    /// Per batch-normalized layer: 1/√(σ² + ε) of the last training forward, (n_l).
    public let inverseStandardDeviation: [FloatBuffer?]
    /// Two ping-pong buffers (rows, max width) for dA in backward and for inference.
    public let gradient: [Matrix]
    /// Scratch of max-width floats for column sums that are added to a gradient.
    public let columnScratch: FloatBuffer
    /// Scratch of 2 × max width floats: dβ and dγ in backward, the evaluation factors in inference.
    public let normalizationScratch: FloatBuffer
    /// Per layer: dY_l, then dZ_l, of the last backward, (rows, n_l); made
    /// by the first backward (an evaluation workspace never needs them).
    public private(set) var layerGradients: [Matrix] = []
    /// Scratch of weight-gradient sums (`Gemm.sumOfProducts`) when this
    /// workspace leads a block of micro-batches; grows on first use only.
    private var tileScratch = FloatBuffer(count: 0)
    /// The operands and addends of such a sum; grown likewise.
    private(set) var operands = UnsafeMutableBufferPointer<Matrix>(start: nil, count: 0)
    let addendPointers: UnsafeMutableBufferPointer<UnsafePointer<Float>>
    private let layerWidths: [Int]
    private var storage: [FloatBuffer]

    public init(network: Network, rows: Int) {
        precondition(rows > 0, "workspace needs at least one row")
        self.rows = rows
        var storage: [FloatBuffer] = []
        func matrix(_ columns: Int) -> Matrix {
            let buffer = FloatBuffer(count: rows * columns)
            storage.append(buffer)
            return Matrix(buffer, rows: rows, columns: columns)
        }
        let layers = network.spec.layers
        preActivation = layers.map { matrix($0.width) }
        activation = layers.map { matrix($0.width) }
        dropoutMask = layers.map { $0.dropout != 0 ? matrix($0.width) : nil }
        dropped = layers.map { $0.dropout != 0 ? matrix($0.width) : nil }
        normalized = layers.map { $0.normalization != nil ? matrix($0.width) : nil }
        inverseStandardDeviation = layers.map { $0.normalization != nil ? FloatBuffer(count: $0.width) : nil }
        let widest = network.maximumWidth
        gradient = [matrix(widest), matrix(widest)]
        columnScratch = FloatBuffer(count: widest)
        normalizationScratch = FloatBuffer(count: 2 * widest)
        layerWidths = layers.map(\.width)
        addendPointers = .allocate(capacity: Self.maximumAddends)
        self.storage = storage
    }

    deinit {
        addendPointers.deallocate()
        operands.deallocate()
    }

    /// Most arena buffers a gradient is carried through (a spine of 2^63 micro-batches).
    public static let maximumAddends = 64

    /// Makes `layerGradients` on first use.
    public func prepareBackward() {
        if layerGradients.isEmpty {
            layerGradients = layerWidths.map { width in
                let buffer = FloatBuffer(count: rows * width)
                storage.append(buffer)
                return Matrix(buffer, rows: rows, columns: width)
            }
        }
    }

    /// At least `floats` floats of tile scratch; allocates only when it must grow.
    func tileScratch(floats: Int) -> UnsafeMutablePointer<Float> {
        if tileScratch.count < floats { tileScratch = FloatBuffer(count: floats) }
        return tileScratch.pointer
    }

    /// Room for at least `count` operand matrices; allocates only when it must grow.
    func operandStorage(_ count: Int) -> UnsafeMutableBufferPointer<Matrix> {
        if operands.count < count {
            operands.deallocate()
            operands = .allocate(capacity: count)
        }
        return operands
    }

    /// What layer `layer` hands to the next one: the dropped activation, or A_l without dropout.
    public func output(_ layer: Int) -> Matrix { dropped[layer] ?? activation[layer] }
}
