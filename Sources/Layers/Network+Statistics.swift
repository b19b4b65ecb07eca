// Batch normalization's running statistics: their initial values and the
// once-per-step momentum update (torch.nn.BatchNorm1d):
//   r_μ ← (1 − momentum)·r_μ + momentum·μ_B,   r_σ² ← (1 − momentum)·r_σ² + momentum·σ²_B
// where μ_B and σ²_B (unbiased) are the batch statistics the training forward
// writes per micro-batch, averaged by the caller over the step's micro-batches
// in a fixed order, so every rank applies the same update (DESIGN.md 3).

import Engine

extension Network {
    /// Writes the initial running statistics: mean 0, variance 1 (padding 0).
    public func initializeStatistics(_ statistics: FloatBuffer) {
        precondition(statistics.count == statisticsLayout.count,
                     "statistics buffer has \(statistics.count) floats, layout needs \(statisticsLayout.count)")
        statistics.fill(0)
        for tensor in statisticsLayout.tensors where tensor.role == .runningVariance {
            (statistics.pointer + tensor.offset).update(repeating: 1, count: tensor.count)
        }
    }

    /// Moves `runningStatistics` towards `averagedBatchStatistics` (both in
    /// `statisticsLayout`) by each layer's momentum. Call once per optimizer
    /// step with the mean of the step's micro-batch statistics.
    public func updateRunningStatistics(_ runningStatistics: FloatBuffer, from averagedBatchStatistics: FloatBuffer) {
        precondition(runningStatistics.count == statisticsLayout.count && averagedBatchStatistics.count == statisticsLayout.count,
                     "updateRunningStatistics: buffers of \(runningStatistics.count) and \(averagedBatchStatistics.count) floats, layout needs \(statisticsLayout.count)")
        for (index, layer) in spec.layers.enumerated() {
            guard let normalization = layer.normalization, let offsets = statisticsLayout.layers[index] else { continue }
            normalization.updateRunning(
                mean: runningStatistics.pointer + offsets.mean, variance: runningStatistics.pointer + offsets.variance,
                batchMean: averagedBatchStatistics.pointer + offsets.mean,
                batchVariance: averagedBatchStatistics.pointer + offsets.variance, count: layer.width)
        }
    }
}
