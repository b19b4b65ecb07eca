// One optimizer step: the rank's micro-batches, summed as a balanced binary
// tree, reduced across ranks, then the synchronized update.

import Collective
import Datasets
import Engine
import Layers
import Optimizers

extension Trainer {
    /// Runs global batch `batch` of the current epoch.
    func step(batch: Int) throws(TrainingError) {
        let health = logsHealthThisStep
        if health { activity.active.fill(0) }
        let local = config.microBatchCount / communicator.size
        let first = communicator.rank * local
        accumulate(batch: batch, microBatches: first..<(first + local), slot: 0, onSpine: true, health: health)
        let start = ContinuousClock.now
        do throws(CollectiveError) {
            reductionsInFlight = false
            if let error = pendingCommunicationError { throw error }
            try communicator.finishSums()
        } catch {
            pendingCommunicationError = nil
            throw .communication(error.description)
        }
        if communicator.size > 1 { communicationTime += ContinuousClock.now - start }
        let agreed = try agreeAtStepBoundary()
        let reduced = ContinuousClock.now
        times.waiting += reduced - start
        if agreed {
            try updateRunningStatistics()
            if health { try reportHealth(gradientSlots[0]) }
            applyUpdate(gradientSlots[0], measureNorm: batch == stepsPerEpoch - 1)
        }
        times.optimizer += ContinuousClock.now - reduced
        times.steps += 1
        stepIndex += 1
    }

    /// Batch norm: the micro-batch statistics of the step, summed in the
    /// gradient's tree over micro-batches and ranks, averaged, then folded
    /// into the running statistics with each layer's momentum.
    private func updateRunningStatistics() throws(TrainingError) {
        let sums = statisticsSlots[0]
        guard sums.count > 0 else { return }
        if communicator.size > 1 {
            do {
                try sums.withUnsafeMutableBufferPointer { buffer throws(CollectiveError) in
                    try communicator.allreduceSum(buffer)
                }
            } catch {
                throw .communication(error.description)
            }
        }
        let scale = 1 / Float(config.microBatchCount)
        for i in 0..<sums.count { sums.pointer[i] *= scale }
        network.updateRunningStatistics(runningStatistics, from: sums)
    }

    /// The synchronized update from the reduced gradient, in PyTorch's order:
    /// clip, add the L2/L1 penalties, step with the scheduled rate, then
    /// project onto the max-norm ball.
    private func applyUpdate(_ gradient: FloatBuffer, measureNorm: Bool) {
        if let clipping = config.clipping, case .byNorm = clipping {
            lastGradientNorm = clipping.apply(to: gradient, pool: pool)
        } else {
            if measureNorm { lastGradientNorm = GradientClipping.globalNorm(gradients: gradient, pool: pool) }
            config.clipping?.apply(to: gradient, pool: pool)
        }
        if config.penalty.isActive {
            config.penalty.apply(parameters: parameters, gradients: gradient, mask: decayMask, pool: pool)
        }
        lastLearningRate = Float(schedule.learningRate(step: stepIndex, epoch: epoch, state: scheduleState))
        optimizer.update(parameters: parameters, gradients: gradient, learningRate: lastLearningRate, pool: pool)
        if let maxNorm = config.maxNorm {
            for slot in network.layout.tensors where slot.role == .weight {
                maxNorm.apply(to: parameters, offset: slot.offset, inputs: slot.shape[0], outputs: slot.shape[1], pool: pool)
            }
        }
    }

    /// Sums the gradients of `microBatches` into `gradientSlots[slot]`:
    /// sum(lo, hi) = sum(lo, mid) + sum(mid, hi) with mid = lo + (hi − lo)/2.
    ///
    /// The rank's last micro-batch ends the right spine of its tree; the
    /// spine's additions are made per layer as soon as backward has written
    /// that layer (deepest first, as the recursion would), and the layer's
    /// buckets start their reduction across ranks right away.
    private func accumulate(batch: Int, microBatches: Range<Int>, slot: Int, onSpine: Bool, health: Bool) {
        let first = microBatches.lowerBound
        if microBatches.count == 1 {
            leaf(batch: batch, microBatch: first, gradients: gradientSlots[slot], statistics: statisticsSlots[slot],
                 accumulate: false, health: health) { layer in
                if onSpine { finishLayer(layer, spineDepth: slot) }
            }
            return
        }
        if microBatches.count == 2 && fusedPairs {
            // A leaf pair: the right leaf's weight gradient is added by the
            // GEMM itself (beta = 1), which has the bits of leaf + leaf here.
            leaf(batch: batch, microBatch: first, gradients: gradientSlots[slot], statistics: statisticsSlots[slot],
                 accumulate: false, health: health) { _ in }
            leaf(batch: batch, microBatch: first + 1, gradients: gradientSlots[slot], statistics: statisticsSlots[slot + 1],
                 accumulate: true, health: health) { layer in
                if onSpine { finishLayer(layer, spineDepth: slot) }
            }
        } else {
            let middle = first + microBatches.count / 2
            accumulate(batch: batch, microBatches: first..<middle, slot: slot, onSpine: false, health: health)
            accumulate(batch: batch, microBatches: middle..<microBatches.upperBound, slot: slot + 1, onSpine: onSpine, health: health)
            if !onSpine {
                let start = ContinuousClock.now
                Elementwise.add(gradientSlots[slot + 1], into: gradientSlots[slot], pool: pool)
                times.reduction += ContinuousClock.now - start
            }
        }
        if statisticsSlots[slot].count > 0 {
            Elementwise.add(statisticsSlots[slot + 1], into: statisticsSlots[slot], pool: pool)
        }
    }

    /// Completes layer `layer`'s part of the rank's gradient sum and starts
    /// reducing its buckets across ranks.
    private func finishLayer(_ layer: Int, spineDepth: Int) {
        let entered = ContinuousClock.now
        defer { times.reduction += ContinuousClock.now - entered }
        let range = buckets.layerRanges[layer]
        for level in stride(from: spineDepth - 1, through: 0, by: -1) {
            let source = gradientSlots[level + 1].pointer + range.lowerBound
            let target = gradientSlots[level].pointer + range.lowerBound
            pool.parallelRanges(range.count, grain: Elementwise.grain) { chunk in
                for i in chunk { target[i] += source[i] }
            }
        }
        guard pendingCommunicationError == nil else { return }
        let start = ContinuousClock.now
        do {
            for bucket in buckets.buckets[layer] {
                try communicator.startSum(
                    UnsafeMutableBufferPointer(
                        start: gradientSlots[0].pointer + bucket.range.lowerBound, count: bucket.range.count),
                    bucket: bucket.id)
            }
            reductionsInFlight = true
            try communicator.progressSums()
        } catch {
            pendingCommunicationError = error
        }
        if communicator.size > 1 { communicationTime += ContinuousClock.now - start }
    }

    /// Forward, loss and backward of one micro-batch into `gradients`.
    ///
    /// In the last, partial batch of an epoch (`--last-batch keep`) rows past
    /// the end of the data are masked: zero inputs, zero loss gradient, no
    /// loss; the loss is the mean over the batch's real rows.
    private func leaf(
        batch: Int, microBatch: Int, gradients: FloatBuffer, statistics: FloatBuffer, accumulate: Bool, health: Bool,
        layerFinished: (Int) -> Void
    ) {
        let gatherStart = ContinuousClock.now
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
        let forwardStart = ContinuousClock.now
        times.gather += forwardStart - gatherStart
        let logits = network.forward(
            x, parameters: parameters, workspace: workspace, pool: pool,
            key: MicroBatchKey(rng: rng, epoch: epoch, firstPosition: start),
            batchStatistics: statistics.count > 0
                ? UnsafeMutableBufferPointer(start: statistics.pointer, count: statistics.count) : nil)
        if health {
            for layer in config.model.layers.indices {
                activity.record(layer: layer, preActivation: workspace.preActivation[layer].topRows(valid))
            }
        }
        let lossStart = ContinuousClock.now
        times.forward += lossStart - forwardStart
        let dZ = Matrix(outputGradient, rows: m, columns: k)
        config.loss.evaluate(
            logits: logits, targets: targets, scale: 1 / Float(batchRows),
            gradient: dZ, rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer, pool: pool)
        if valid < m { (outputGradient.pointer + valid * k).update(repeating: 0, count: (m - valid) * k) }
        epochLoss += orderedSum(rowLoss.pointer, count: valid)
        epochCorrect += orderedSum(rowCorrect.pointer, count: valid)
        let backwardStart = ContinuousClock.now
        times.loss += backwardStart - lossStart
        let reductionBefore = times.reduction
        network.backward(
            x, outputGradient: dZ, parameters: parameters, gradients: gradients,
            accumulate: accumulate, fusedWeightAccumulation: accumulate, workspace: workspace, pool: pool,
            layerFinished: layerFinished)
        times.backward += (ContinuousClock.now - backwardStart) - (times.reduction - reductionBefore)
    }

    /// Runs `body(start, count, logits)` for every chunk of `data` in fixed
    /// chunks of `config.evaluationBatchSize` rows (so metrics do not depend on threads).
    func forEachEvaluationChunk(_ data: Dataset, _ body: (Int, Int, Matrix) -> Void) {
        let chunk = config.evaluationBatchSize
        let d = config.model.inputWidth
        var start = 0
        while start < data.rowCount {
            let count = min(chunk, data.rowCount - start)
            let x = Matrix(data.features.pointer + start * d, rows: count, columns: d)
            let logits = network.infer(
                x, parameters: parameters, runningStatistics: runningStatistics.count > 0 ? runningStatistics : nil,
                workspace: evaluationWorkspace, pool: pool)
            body(start, count, logits)
            start += count
        }
    }

    /// Mean loss and accuracy over every row of `data`.
    func evaluate(_ data: Dataset, targets table: TargetTable) -> (loss: Double, accuracy: Double?) {
        var lossSum = 0.0
        var correctSum = 0.0
        forEachEvaluationChunk(data) { start, count, logits in
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
        }
        let rows = Double(max(data.rowCount, 1))
        return (lossSum / rows, config.loss.hasAccuracy ? correctSum / rows : nil)
    }
}
