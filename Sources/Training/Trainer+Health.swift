// Gradient health: per layer, the norm of the weight gradient, the norm of
// the weights, their ratio and the fraction of dead ReLU units (never active
// on any row of the step's micro-batches, on any rank) — the vanishing and
// exploding gradients of deep sigmoid networks, made visible.

import Collective
import Engine
import Layers
import Optimizers

/// One layer's figures at a logged step.
public struct LayerHealth: Sendable, Codable {
    public let layer: Int
    /// L2 norm of the reduced weight gradient (before clipping).
    public let gradientNorm: Double
    /// L2 norm of the weights before the update.
    public let weightNorm: Double
    /// gradientNorm / weightNorm.
    public let ratio: Double
    /// Fraction of the layer's ReLU units inactive on every row of the step (ReLU layers only).
    public let deadFraction: Double?
}

/// The gradient health of one step.
public struct HealthReport: Sendable, Codable {
    public let step: Int
    public let epoch: Int
    /// Global L2 norm of the reduced gradient (before clipping).
    public let gradientNorm: Double
    public let layers: [LayerHealth]
}

/// Per-neuron activity of the ReLU layers during one step.
struct ActivityTracker {
    /// Offset of each layer's neurons in `active`, nil for layers that are not ReLU.
    let offsets: [Int?]
    /// 1 where a neuron was positive on some row of the step, else 0.
    let active: FloatBuffer

    init(_ spec: ModelSpec) {
        var next = 0
        offsets = spec.layers.enumerated().map { index, layer in
            guard index < spec.layers.count - 1, layer.activation == .relu else { return nil }
            defer { next += layer.width }
            return next
        }
        active = FloatBuffer(count: next)
    }

    /// Marks the neurons of layer `layer` positive on some row of `z` (m, n).
    func record(layer: Int, preActivation z: Matrix) {
        guard let offset = offsets[layer] else { return }
        let flags = active.pointer + offset
        for i in 0..<z.rows {
            let row = z.pointer + i * z.rowStride
            for j in 0..<z.columns where row[j] > 0 { flags[j] = 1 }
        }
    }
}

extension Trainer {
    /// Whether the step about to run logs its health.
    var logsHealthThisStep: Bool {
        options.healthEvery > 0 && healthObserver != nil && (stepIndex + 1) % options.healthEvery == 0
    }

    /// Computes the step's health from the reduced gradient and reports it on rank 0.
    func reportHealth(_ gradient: FloatBuffer) throws(TrainingError) {
        guard let observer = healthObserver else { return }
        let active = activity.active
        if communicator.size > 1 && active.count > 0 {
            do {
                try active.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in
                    try communicator.allreduceSum(buffer)
                }
            } catch {
                throw .communication(error.description)
            }
        }
        var layers: [LayerHealth] = []
        for (index, layer) in config.model.layers.enumerated() {
            let offsets = network.layout.layers[index]
            let fanIn = index == 0 ? config.model.inputWidth : config.model.layers[index - 1].width
            let range = offsets.weight..<(offsets.weight + fanIn * layer.width)
            let gradientNorm = GradientClipping.norm(of: gradient, range: range, pool: pool)
            let weightNorm = GradientClipping.norm(of: parameters, range: range, pool: pool)
            var dead: Double?
            if let offset = activity.offsets[index] {
                var count = 0
                for j in 0..<layer.width where active.pointer[offset + j] == 0 { count += 1 }
                dead = Double(count) / Double(layer.width)
            }
            layers.append(LayerHealth(
                layer: index, gradientNorm: gradientNorm, weightNorm: weightNorm,
                ratio: weightNorm > 0 ? gradientNorm / weightNorm : .infinity, deadFraction: dead))
        }
        let report = HealthReport(
            step: stepIndex + 1, epoch: epoch + 1,
            gradientNorm: GradientClipping.globalNorm(gradients: gradient, pool: pool), layers: layers)
        if communicator.rank == 0 { observer(report) }
    }
}
