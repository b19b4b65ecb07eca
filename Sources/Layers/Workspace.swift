// Workspace: the activations and gradient scratch of one micro-batch, planned
// once per (network, rows) so that no step allocates.

import Engine

/// Buffers for forward and backward passes over at most `rows` rows.
public final class Workspace {
    /// Largest micro-batch the workspace holds.
    public let rows: Int
    /// Z_l per layer, (rows, n_l).
    public let preActivation: [Matrix]
    /// A_l per layer, (rows, n_l).
    public let activation: [Matrix]
    /// Two ping-pong buffers (rows, max width) for dA in backward and for inference.
    public let gradient: [Matrix]
    /// Scratch of max-width floats for column sums that are added to a gradient.
    public let columnScratch: FloatBuffer
    /// Scratch as large as the largest weight matrix, for a weight gradient
    /// that is added to an accumulated one.
    public let weightScratch: FloatBuffer
    private let storage: [FloatBuffer]

    public init(network: Network, rows: Int) {
        precondition(rows > 0, "workspace needs at least one row")
        self.rows = rows
        var storage: [FloatBuffer] = []
        func matrix(_ columns: Int) -> Matrix {
            let buffer = FloatBuffer(count: rows * columns)
            storage.append(buffer)
            return Matrix(buffer, rows: rows, columns: columns)
        }
        preActivation = network.spec.layers.map { matrix($0.width) }
        activation = network.spec.layers.map { matrix($0.width) }
        let widest = network.maximumWidth
        gradient = [matrix(widest), matrix(widest)]
        columnScratch = FloatBuffer(count: widest)
        var largestWeight = 0
        var fanIn = network.spec.inputWidth
        for layer in network.spec.layers {
            largestWeight = max(largestWeight, fanIn * layer.width)
            fanIn = layer.width
        }
        weightScratch = FloatBuffer(count: largestWeight)
        self.storage = storage
    }
}
