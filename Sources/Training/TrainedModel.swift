// TrainedModel: a network and its weights loaded from a checkpoint, for
// evaluate, predict and export. The checkpoint names the model spec; the
// parameters are read by their layout names (`layers.0.weight`, ...) and the
// batch-norm running statistics from the trainer's state
// (`state.trainer.layers.0.running_mean`, ...).

import Datasets
import Engine
import Foundation
import Layers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class TrainedModel {
    public let network: Network
    public let parameters: FloatBuffer
    /// Batch-norm running statistics (empty without batch norm).
    public let runningStatistics: FloatBuffer
    /// The checkpoint's metadata (config, step, ...).
    public let metadata: [String: String]
    /// The feature standardisation the model was trained with, applied to every input.
    public let standardization: Standardization?

    /// Loads and validates `path`.
    public init(checkpoint path: String) throws(TrainingError) {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.load(from: path) } catch {
            if case .missingFile = error { throw .missingData(error.description) }
            throw .checkpoint(error.description)
        }
        let spec: ModelSpec
        do { spec = try ModelSpec(parsing: checkpoint.modelSpec) } catch {
            throw .checkpoint("\(path): its model spec does not parse: \(error.description)")
        }
        let network = Network(spec)
        let parameters = FloatBuffer(count: network.parameterCount)
        let statistics = FloatBuffer(count: network.statisticsCount)
        network.initializeStatistics(statistics)
        do { try checkpoint.restore(into: parameters, layout: network.layout) } catch {
            throw .checkpoint(error.description)
        }
        for slot in network.statisticsLayout.tensors {
            let name = Checkpoint.Key.statePrefix + "trainer." + slot.name
            guard let tensor = checkpoint.tensor(named: name), tensor.values.count == slot.count else {
                throw .checkpoint("\(path): no batch-norm statistics '\(name)' of \(slot.count) values")
            }
            tensor.values.withUnsafeBufferPointer { values in
                if let base = values.baseAddress { (statistics.pointer + slot.offset).update(from: base, count: slot.count) }
            }
        }
        let prefix = Checkpoint.Key.statePrefix + "trainer."
        if let mean = checkpoint.tensor(named: prefix + "standardization_mean"),
           let deviation = checkpoint.tensor(named: prefix + "standardization_std"),
           mean.values.count == spec.inputWidth, deviation.values.count == spec.inputWidth
        {
            standardization = Standardization(mean: mean.values, standardDeviation: deviation.values)
        } else {
            standardization = nil
        }
        self.network = network
        self.parameters = parameters
        self.runningStatistics = statistics
        metadata = checkpoint.metadata
    }

    /// The model spec.
    public var spec: ModelSpec { network.spec }

    /// `input` as the model sees it: a standardised copy when the model was trained so, else itself.
    func standardized(_ input: FloatBuffer, rows: Int) -> FloatBuffer {
        guard let standardization else { return input }
        let copy = FloatBuffer(count: input.count)
        copy.copy(from: input)
        standardization.apply(to: copy, rows: rows)
        return copy
    }

    /// Outputs of the head for every row of `features` (rows, inputWidth), in
    /// chunks of 500 rows: softmax probabilities, sigmoid probabilities or the
    /// linear outputs. Returns (rows, outputWidth) row-major.
    public func predict(_ input: FloatBuffer, rows: Int, pool: ThreadPool) -> [Float] {
        let features = standardized(input, rows: rows)
        let d = spec.inputWidth
        let k = spec.outputWidth
        let chunk = 500
        let workspace = Workspace(network: network, rows: chunk)
        var outputs = [Float](repeating: 0, count: rows * k)
        var start = 0
        while start < rows {
            let count = min(chunk, rows - start)
            let logits = network.infer(
                Matrix(features.pointer + start * d, rows: count, columns: d), parameters: parameters,
                runningStatistics: runningStatistics.count > 0 ? runningStatistics : nil, workspace: workspace, pool: pool)
            for row in 0..<count {
                let z = logits.pointer + row * logits.rowStride
                let base = (start + row) * k
                switch spec.head {
                case .linear:
                    for j in 0..<k { outputs[base + j] = z[j] }
                case .sigmoid:
                    for j in 0..<k { outputs[base + j] = Activation.logistic(z[j]) }
                case .softmax:
                    var maximum = z[0]
                    for j in 1..<k { maximum = max(maximum, z[j]) }
                    var sum: Float = 0
                    for j in 0..<k { sum += expf(z[j] - maximum) }
                    for j in 0..<k { outputs[base + j] = expf(z[j] - maximum) / sum }
                }
            }
            start += count
        }
        return outputs
    }
}

extension TrainedModel {
    /// The training config the checkpoint recorded.
    public var config: TrainingConfig? {
        guard let text = metadata[Checkpoint.Key.config] else { return nil }
        return try? JSONDecoder().decode(TrainingConfig.self, from: Data(text.utf8))
    }

    /// Mean loss, accuracy and (for class labels) the confusion matrix over every row of `data`.
    public func evaluate(
        _ data: Dataset, loss: Loss, pool: ThreadPool
    ) throws(TrainingError) -> (loss: Double, accuracy: Double?, classification: ClassificationMetrics?) {
        guard data.featureCount == spec.inputWidth else {
            throw .dataMismatch("\(data.name) has \(data.featureCount) features per row, but the model takes \(spec.inputWidth)")
        }
        let table = try TargetTable.prepare(data, loss: loss, outputs: spec.outputWidth)
        let features = standardized(data.features, rows: data.rowCount)
        let chunk = 500
        let d = spec.inputWidth
        let k = spec.outputWidth
        let workspace = Workspace(network: network, rows: chunk)
        let rowLoss = FloatBuffer(count: chunk)
        let rowCorrect = FloatBuffer(count: chunk)
        var labelScratch = [Int32](repeating: 0, count: chunk)
        var metrics = loss.usesClassLabels ? ClassificationMetrics(classCount: k) : nil
        var lossSum = 0.0
        var correctSum = 0.0
        var start = 0
        while start < data.rowCount {
            let count = min(chunk, data.rowCount - start)
            let logits = network.infer(
                Matrix(features.pointer + start * d, rows: count, columns: d), parameters: parameters,
                runningStatistics: runningStatistics.count > 0 ? runningStatistics : nil, workspace: workspace, pool: pool)
            labelScratch.withUnsafeMutableBufferPointer { scratch in
                let targets: LossTargets
                switch table {
                case .labels(let labels):
                    for i in 0..<count { scratch[i] = labels[start + i] }
                    targets = .labels(UnsafePointer(scratch.baseAddress!))
                case .values(let values, let width):
                    targets = .values(Matrix(values.pointer + start * width, rows: count, columns: width))
                }
                loss.evaluate(
                    logits: logits, targets: targets, scale: 1, gradient: nil, rowLoss: rowLoss.pointer,
                    rowCorrect: rowCorrect.pointer, pool: pool)
            }
            if case .labels(let labels) = table {
                for row in 0..<count {
                    let scores = UnsafeBufferPointer(start: logits.pointer + row * logits.rowStride, count: k)
                    metrics?.add(actual: Int(labels[start + row]), predicted: ClassificationMetrics.predictedClass(scores: scores))
                }
            }
            lossSum += orderedSum(rowLoss.pointer, count: count)
            correctSum += orderedSum(rowCorrect.pointer, count: count)
            start += count
        }
        let rows = Double(max(data.rowCount, 1))
        return (lossSum / rows, loss.hasAccuracy ? correctSum / rows : nil, metrics)
    }
}

extension TrainedModel {
    /// The same function without batch normalization, for export: each
    /// normalized layer's inference transform γ·(z − μ)/√(σ² + ε) + β is folded
    /// into its weights and bias (W'[:, j] = s_j·W[:, j], b'_j = β_j − s_j·μ_j with
    /// s_j = γ_j/√(σ_j² + ε); the Dense bias is unused under batch norm).
    /// Returns the model itself when it has no batch norm.
    public func foldingBatchNormalization() -> (spec: ModelSpec, parameters: FloatBuffer, layout: ParameterLayout) {
        guard spec.usesBatchNormalization else { return (spec, parameters, network.layout) }
        var folded = spec
        for index in folded.layers.indices { folded.layers[index].normalization = nil }
        let layout = ParameterLayout(folded)
        let output = FloatBuffer(count: layout.count)
        var fanIn = spec.inputWidth
        for (index, layer) in spec.layers.enumerated() {
            let source = network.layout.layers[index]
            let target = layout.layers[index]
            let width = layer.width
            (output.pointer + target.weight).update(from: parameters.pointer + source.weight, count: fanIn * width)
            (output.pointer + target.bias).update(from: parameters.pointer + source.bias, count: width)
            if let slope = source.slope, let targetSlope = target.slope {
                (output.pointer + targetSlope).update(from: parameters.pointer + slope, count: width)
            }
            if let norm = source.normalization, let statistics = network.statisticsLayout.layers[index],
               let epsilon = layer.normalization?.epsilon
            {
                for j in 0..<width {
                    let variance = Double(runningStatistics.pointer[statistics.variance + j])
                    let scale = Double(parameters.pointer[norm.scale + j]) / (variance + Double(epsilon)).squareRoot()
                    for i in 0..<fanIn { output.pointer[target.weight + i * width + j] *= Float(scale) }
                    let mean = Double(runningStatistics.pointer[statistics.mean + j])
                    output.pointer[target.bias + j] = Float(Double(parameters.pointer[norm.shift + j]) - scale * mean)
                }
            }
            fanIn = width
        }
        return (folded, output, layout)
    }
}
