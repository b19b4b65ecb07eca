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
            let start = ContinuousClock.now
            do {
                try gradient.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in
                    try communicator.allreduceSum(buffer)
                }
            } catch {
                throw .communication(error.description)
            }
            communicationTime += ContinuousClock.now - start
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
    ///
    /// In the last, partial batch of an epoch (`--last-batch keep`) rows past
    /// the end of the data are masked: zero inputs, zero loss gradient, no
    /// loss; the loss is the mean over the batch's real rows.
    private func leaf(batch: Int, microBatch: Int, into gradients: FloatBuffer, accumulate: Bool) {
        let m = config.microBatchSize
        let k = config.model.outputWidth
        let d = config.model.inputWidth
        let batchStart = batch * config.globalBatchSize
        let batchRows = min(config.globalBatchSize, train.rowCount - batchStart)
        let start = batchStart + microBatch * m
        let valid = max(0, min(m, train.rowCount - start))
        let rows = UnsafeBufferPointer(rebasing: order[min(start, train.rowCount)..<min(start + valid, train.rowCount)])
        train.gatherFeatures(rows: rows, into: input.pointer)
        if valid < m { (input.pointer + valid * d).update(repeating: 0, count: (m - valid) * d) }
        let x = Matrix(input, rows: m, columns: d)
        let targets: LossTargets
        switch trainTargets {
        case .labels(let labels):
            labels.withUnsafeBufferPointer { all in
                for i in 0..<valid { labelScratch[i] = all[Int(rows[i])] }
            }
            for i in valid..<m { labelScratch[i] = 0 }
            targets = .labels(labelScratch)
        case .values(let values, let width):
            for i in 0..<valid {
                (batchTargets.pointer + i * width).update(from: values.pointer + Int(rows[i]) * width, count: width)
            }
            if valid < m { (batchTargets.pointer + valid * width).update(repeating: 0, count: (m - valid) * width) }
            targets = .values(Matrix(batchTargets, rows: m, columns: k))
        }
        let logits = network.forward(x, parameters: parameters, workspace: workspace, pool: pool)
        let dZ = Matrix(outputGradient, rows: m, columns: k)
        config.loss.evaluate(
            logits: logits, targets: targets, scale: 1 / Float(batchRows),
            gradient: dZ, rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer, pool: pool)
        if valid < m { (outputGradient.pointer + valid * k).update(repeating: 0, count: (m - valid) * k) }
        epochLoss += orderedSum(rowLoss.pointer, count: valid)
        epochCorrect += orderedSum(rowCorrect.pointer, count: valid)
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
