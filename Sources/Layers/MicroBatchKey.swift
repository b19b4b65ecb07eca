// MicroBatchKey: what the random masks of a training micro-batch are keyed by.
//
// Row i of a micro-batch is the sample at global position firstPosition + i
// of its epoch's order; its dropout masks are a pure function of the run's
// seed, the epoch, the layer, that position and the neuron (DESIGN.md 3), so
// they never depend on the thread, the rank or how the batch is split.

import Engine

/// The address of a training micro-batch's random draws.
public struct MicroBatchKey: Sendable, Equatable {
    /// The run's generator (its seed).
    public var rng: CounterRNG
    /// Epoch the micro-batch belongs to, 0-based; below 2²⁴.
    public var epoch: Int
    /// Global position of the micro-batch's first row in the epoch's sample order.
    public var firstPosition: Int

    public init(rng: CounterRNG, epoch: Int, firstPosition: Int) {
        self.rng = rng
        self.epoch = epoch
        self.firstPosition = firstPosition
    }
}
