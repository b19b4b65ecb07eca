// Standardisation of the input features: per feature, the mean and standard
// deviation over the training rows (Double sums in row order, so every rank
// computes the same bits), then x ← (x − mean) / std for every split. The
// figures travel in the checkpoint (state.trainer.standardization_mean/std)
// so evaluate and predict apply exactly the same transform.

import Datasets
import Engine

public struct Standardization: Sendable, Equatable {
    /// Per-feature mean of the training rows.
    public let mean: [Float]
    /// Per-feature standard deviation (population); 1 for a constant feature.
    public let standardDeviation: [Float]

    public init(mean: [Float], standardDeviation: [Float]) {
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The figures of `data`'s features.
    public init(fitting data: Dataset) {
        let d = data.featureCount
        var sums = [Double](repeating: 0, count: d)
        var squares = [Double](repeating: 0, count: d)
        let x = data.features.pointer
        for row in 0..<data.rowCount {
            for j in 0..<d {
                let value = Double(x[row * d + j])
                sums[j] += value
                squares[j] += value * value
            }
        }
        let n = Double(max(data.rowCount, 1))
        var mean = [Float](repeating: 0, count: d)
        var deviation = [Float](repeating: 1, count: d)
        for j in 0..<d {
            let average = sums[j] / n
            let variance = max(0, squares[j] / n - average * average)
            mean[j] = Float(average)
            let sigma = variance.squareRoot()
            deviation[j] = sigma > 1e-12 ? Float(sigma) : 1
        }
        self.init(mean: mean, standardDeviation: deviation)
    }

    /// Transforms `rows` rows of features in place.
    public func apply(to features: FloatBuffer, rows: Int) {
        let d = mean.count
        precondition(features.count >= rows * d, "standardization: \(rows) rows of \(d) features exceed the buffer")
        let x = features.pointer
        for row in 0..<rows {
            for j in 0..<d { x[row * d + j] = (x[row * d + j] - mean[j]) / standardDeviation[j] }
        }
    }
}
