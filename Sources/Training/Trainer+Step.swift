// One optimizer step: the rank's micro-batches, summed as a balanced binary
// tree, reduced across ranks, then the synchronized update.

import Collective
import Datasets
import Engine
import Layers

extension Trainer {
    /// Runs global batch `batch` of the current epoch.
    func step(batch: Int) throws(TrainingError) {
        let local = config.microBatchCount / communicator.size
        let first = communicator.rank * local
        accumulate(batch: batch, microBatches: first..<(first + local), slot: 0)
        let gradient = gradientSlots[0]
        if communicator.size > 1 {
            do {
                try gradient.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in
                    try communicator.allreduceSum(buffer)
                }
            } catch {
                throw .communication(error.description)
            }
        }
        optimizer.update(parameters: parameters, gradients: gradient, learningRate: config.learningRate, pool: pool)
        stepIndex += 1
    }

    /// Sums the gradients of `microBatches` into `gradientSlots[slot]`:
    /// sum(lo, hi) = sum(lo, mid) + sum(mid, hi) with mid = lo + (hi − lo)/2.
    private func accumulate(batch: Int, microBatches: Range<Int>, slot: Int) {
        if microBatches.count == 1 {
            leaf(batch: batch, microBatch: microBatches.lowerBound, into: gradientSlots[slot], accumulate: false)
            return
        }
        let middle = microBatches.lowerBound + microBatches.count / 2
        accumulate(batch: batch, microBatches: microBatches.lowerBound..<middle, slot: slot)
        accumulate(batch: batch, microBatches: middle..<microBatches.upperBound, slot: slot + 1)
        Elementwise.add(gradientSlots[slot + 1], into: gradientSlots[slot], pool: pool)
    }

    /// Forward, loss and backward of one micro-batch into `gradients`.
    private func leaf(batch: Int, microBatch: Int, into gradients: FloatBuffer, accumulate: Bool) {
        let m = config.microBatchSize
        let k = config.model.outputWidth
        let start = batch * config.globalBatchSize + microBatch * m
        let rows = UnsafeBufferPointer(rebasing: order[start..<(start + m)])
        train.gatherFeatures(rows: rows, into: input.pointer)
        let x = Matrix(input, rows: m, columns: config.model.inputWidth)
        let targets: LossTargets
        switch trainTargets {
        case .labels(let labels):
            labels.withUnsafeBufferPointer { all in
                for i in 0..<m { labelScratch[i] = all[Int(rows[i])] }
            }
            targets = .labels(labelScratch)
        case .values(let values, let width):
            for i in 0..<m {
                (batchTargets.pointer + i * width).update(from: values.pointer + Int(rows[i]) * width, count: width)
            }
            targets = .values(Matrix(batchTargets, rows: m, columns: k))
        }
        let logits = network.forward(x, parameters: parameters, workspace: workspace, pool: pool)
        let dZ = Matrix(outputGradient, rows: m, columns: k)
        config.loss.evaluate(
            logits: logits, targets: targets, scale: 1 / Float(config.globalBatchSize),
            gradient: dZ, rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer, pool: pool)
        epochLoss += orderedSum(rowLoss.pointer, count: m)
        epochCorrect += orderedSum(rowCorrect.pointer, count: m)
        network.backward(
            x, outputGradient: dZ, parameters: parameters, gradients: gradients,
            accumulate: accumulate, workspace: workspace, pool: pool)
    }

    /// Mean loss and accuracy over every row of `data`, in fixed chunks of
    /// `config.evaluationBatchSize` rows.
    func evaluate(_ data: Dataset, targets table: TargetTable) -> (loss: Double, accuracy: Double?) {
        let chunk = config.evaluationBatchSize
        let d = config.model.inputWidth
        var lossSum = 0.0
        var correctSum = 0.0
        var start = 0
        while start < data.rowCount {
            let count = min(chunk, data.rowCount - start)
            let x = Matrix(data.features.pointer + start * d, rows: count, columns: d)
            let logits = network.infer(x, parameters: parameters, workspace: evaluationWorkspace, pool: pool)
            let targets: LossTargets
            switch table {
            case .labels(let labels):
                for i in 0..<count { labelScratch[i] = labels[start + i] }
                targets = .labels(labelScratch)
            case .values(let values, let width):
                targets = .values(Matrix(values.pointer + start * width, rows: count, columns: width))
            }
            config.loss.evaluate(
                logits: logits, targets: targets, scale: 1, gradient: nil,
                rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer, pool: pool)
            lossSum += orderedSum(rowLoss.pointer, count: count)
            correctSum += orderedSum(rowCorrect.pointer, count: count)
            start += count
        }
        let rows = Double(max(data.rowCount, 1))
        return (lossSum / rows, config.loss.hasAccuracy ? correctSum / rows : nil)
    }
}
