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
        let stepStart = ContinuousClock.now
        let health = logsHealthThisStep
        if health { activity.active.fill(0) }
        // A rank of one thread gathers its next rows while it waits for the others.
        let gathersWhileWaiting = pool.threadCount == 1 && communicator.size > 1
        if gathersWhileWaiting { communicator.setIdleWork(idleGather) }
        defer { if gathersWhileWaiting { communicator.setIdleWork(nil) } }
        let measureNorm = batch == stepsPerEpoch - 1
        shardedStep = shardsUpdate(health: health, measureNorm: measureNorm)
        let local = config.microBatchCount / communicator.size
        let first = communicator.rank * local
        accumulate(batch: batch, microBatches: first..<(first + local), slot: 0, chain: 0, onSpine: true, health: health)
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
        let waitingBefore = times.waiting
        if agreed {
            try updateRunningStatistics()
            if health { try reportHealth(gradientSlots[0]) }
            if shardedStep {
                try applyShardedUpdate(gradientSlots[0])
            } else {
                // Every rank updates everything: the state must be whole again.
                try synchronizeOptimizerState()
                applyUpdate(gradientSlots[0], measureNorm: measureNorm)
            }
        }
        times.optimizer += (ContinuousClock.now - reduced) - (times.waiting - waitingBefore)
        times.steps += 1
        stepIndex += 1
        chooseTransport(stepSeconds: (ContinuousClock.now - stepStart).seconds)
    }

    /// Takes the transport agreed at this step's boundary (every rank alike,
    /// with no sum in flight), and on rank 0 times the step for the next proposal.
    private func chooseTransport(stepSeconds: Double) {
        if agreedTransport != 0 {
            communicator.setStreaming(agreedTransport == 2)
            agreedTransport = 0
        }
        if let next = transportChooser?.record(seconds: stepSeconds) { proposedTransport = next ? 2 : 1 }
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

    /// Whether this step's update is sharded (ZeRO stage 1): the buckets are
    /// only reduce-scattered, each rank applies the optimizer to the part it
    /// owns, and the updated parameters are allgathered — the same bits as
    /// every rank updating everything, with each rank doing 1/P of the
    /// optimizer's work and the same traffic as the allreduce. Only where
    /// every step of the update is elementwise: not with clipping by the
    /// global norm or max-norm, and not when the whole reduced gradient is
    /// looked at (gradient health, the epoch's last gradient norm).
    func shardsUpdate(health: Bool, measureNorm: Bool) -> Bool {
        guard communicator.size > 1, communicator.ownedRange(count: 2) != 0..<2, !health, !measureNorm,
              config.maxNorm == nil
        else { return false }
        if case .byNorm = config.clipping { return false }
        return true
    }

    /// The sharded update: clip by value (elementwise, so everywhere), then
    /// bucket by bucket add the penalties and step the optimizer on this
    /// rank's owned part and start allgathering the bucket's parameters, which
    /// travel while the next buckets are updated. Nothing here reads a
    /// parameter outside the owned parts: other ranks push theirs in meanwhile.
    private func applyShardedUpdate(_ gradient: FloatBuffer) throws(TrainingError) {
        config.clipping?.apply(to: gradient, pool: pool)
        lastLearningRate = Float(schedule.learningRate(step: stepIndex, epoch: epoch, state: scheduleState))
        do throws(CollectiveError) {
            for layer in buckets.buckets {
                for bucket in layer {
                    let owned = communicator.ownedRange(count: bucket.range.count)
                    let range = (bucket.range.lowerBound + owned.lowerBound)..<(bucket.range.lowerBound + owned.upperBound)
                    if config.penalty.isActive {
                        config.penalty.apply(
                            parameters: parameters, gradients: gradient, mask: decayMask, within: range, pool: pool)
                    }
                    optimizer.apply(
                        parameters: parameters, gradients: gradient, learningRate: lastLearningRate, range: range,
                        pool: pool)
                    if let error = pendingCommunicationError { throw error }
                    try communicator.startAllgather(
                        UnsafeMutableBufferPointer(
                            start: parameters.pointer + bucket.range.lowerBound, count: bucket.range.count),
                        bucket: bucket.id)
                    reductionsInFlight = true
                }
            }
            let start = ContinuousClock.now
            reductionsInFlight = false
            if let error = pendingCommunicationError { throw error }
            try communicator.finishSums()
            times.waiting += ContinuousClock.now - start
            communicationTime += ContinuousClock.now - start
        } catch {
            reductionsInFlight = false
            pendingCommunicationError = nil
            throw .communication(error.description)
        }
        optimizer.stepCount += 1
        optimizerStateSharded = true
    }

    /// Gives every rank every rank's owned part of `buffer`, bucket by bucket.
    private func allgatherBuckets(_ buffer: FloatBuffer) throws(TrainingError) {
        let start = ContinuousClock.now
        do throws(CollectiveError) {
            for layer in buckets.buckets {
                for bucket in layer {
                    try communicator.startAllgather(
                        UnsafeMutableBufferPointer(start: buffer.pointer + bucket.range.lowerBound, count: bucket.range.count),
                        bucket: bucket.id)
                }
            }
            try communicator.finishSums()
        } catch {
            throw .communication(error.description)
        }
        communicationTime += ContinuousClock.now - start
    }

    /// Makes the optimizer state whole on every rank after sharded updates
    /// (a checkpoint saves it). Every rank calls it at the same point.
    func synchronizeOptimizerState() throws(TrainingError) {
        guard optimizerStateSharded else { return }
        for buffer in optimizer.state { try allgatherBuckets(buffer) }
        optimizerStateSharded = false
    }

    /// Whether the reduced gradient holds NaN or Inf: in a sharded step each
    /// rank looks at the parts it owns (the step boundary's MAX covers the rest).
    func reducedGradientIsNonFinite() -> Bool {
        guard shardedStep else { return faults.scan.containsNonFinite(gradientSlots[0], pool: pool) }
        for layer in buckets.buckets {
            for bucket in layer {
                let owned = communicator.ownedRange(count: bucket.range.count)
                let values = UnsafeBufferPointer(
                    start: gradientSlots[0].pointer + bucket.range.lowerBound + owned.lowerBound, count: owned.count)
                if faults.scan.containsNonFinite(values, pool: pool) { return true }
            }
        }
        return false
    }

    /// Sums the gradients of `microBatches` into `gradientSlots[slot]`:
    /// sum(lo, hi) = sum(lo, mid) + sum(mid, hi) with mid = lo + (hi − lo)/2.
    ///
    /// A subtree of at most `block.capacity` micro-batches runs as one block
    /// (`runBlock`). A right subtree's sum lives one slot deeper and is
    /// carried up the `chain` of slots above it (slot − 1, slot − 2, …,
    /// `chain` of them) by its last block. The rank's last block ends the
    /// right spine of its tree (`onSpine`, a chain down to slot 0).
    private func accumulate(
        batch: Int, microBatches: Range<Int>, slot: Int, chain: Int, onSpine: Bool, health: Bool
    ) {
        if microBatches.count <= block.capacity {
            runBlock(batch: batch, microBatches: microBatches, slot: slot, chain: chain, onSpine: onSpine, health: health)
            return
        }
        let middle = microBatches.lowerBound + microBatches.count / 2
        accumulate(batch: batch, microBatches: microBatches.lowerBound..<middle, slot: slot, chain: 0, onSpine: false,
                   health: health)
        accumulate(batch: batch, microBatches: middle..<microBatches.upperBound, slot: slot + 1, chain: chain + 1,
                   onSpine: onSpine, health: health)
        if statisticsSlots[slot].count > 0 {
            Elementwise.add(statisticsSlots[slot + 1], into: statisticsSlots[slot], pool: pool)
        }
    }

    /// Slots `slot − 1` … `slot − chain`, as arena base pointers.
    private func carrySlots(slot: Int, chain: Int) -> UnsafeBufferPointer<UnsafeMutablePointer<Float>> {
        let start = gradientSlots.count - slot
        return UnsafeBufferPointer(rebasing: slotsDescending[start..<(start + chain)])
    }

    /// One block of micro-batches: forward, loss and backward of each (all
    /// but the weight gradients), then per layer, last first, the block's
    /// balanced-tree sum of the weight gradients (in the GEMM's tiles, while
    /// they are in cache) and of the small tensors, carried up the chain; on
    /// the spine the layer's buckets then start their reduction across ranks,
    /// while earlier layers are still summed.
    private func runBlock(
        batch: Int, microBatches: Range<Int>, slot: Int, chain: Int, onSpine: Bool, health: Bool
    ) {
        let count = microBatches.count
        for (index, microBatch) in microBatches.enumerated() {
            leaf(batch: batch, microBatch: microBatch, index: index, health: health)
        }
        let backwardStart = ContinuousClock.now
        let reductionBefore = times.reduction
        if network.statisticsCount > 0 {
            BalancedTree.reduceInPlace(count) { into, from in
                Elementwise.add(block.statistics[from], into: block.statistics[into], pool: pool)
            }
            statisticsSlots[slot].copy(from: block.statistics[0])
        }
        let carry = carrySlots(slot: slot, chain: chain)
        let target = gradientSlots[slot].pointer
        for layer in config.model.layers.indices.reversed() {
            network.sumWeightGradients(
                layer: layer, inputs: block.inputs[0..<count], workspaces: block.workspaces[0..<count],
                into: target, carry: carry, pool: pool)
            network.sumTails(layer: layer, tails: block.tails[0..<count], into: target, carry: carry)
            if onSpine { startReduction(layer: layer) }
        }
        times.backward += (ContinuousClock.now - backwardStart) - (times.reduction - reductionBefore)
    }

    /// Starts reducing layer `layer`'s buckets of slot 0 across ranks.
    private func startReduction(layer: Int) {
        guard communicator.size > 1, pendingCommunicationError == nil else { return }
        let start = ContinuousClock.now
        do {
            for bucket in buckets.buckets[layer] {
                let values = UnsafeMutableBufferPointer(
                    start: gradientSlots[0].pointer + bucket.range.lowerBound, count: bucket.range.count)
                if shardedStep {
                    try communicator.startReduceScatter(values, bucket: bucket.id)
                } else {
                    try communicator.startSum(values, bucket: bucket.id)
                }
            }
            reductionsInFlight = true
            try communicator.progressSums()
        } catch {
            pendingCommunicationError = error
        }
        let spent = ContinuousClock.now - start
        communicationTime += spent
        times.reduction += spent
    }

    /// Forward, loss and backward (all but the weight gradients) of one
    /// micro-batch, in the block's buffers of position `index`.
    ///
    /// In the last, partial batch of an epoch (`--last-batch keep`) rows past
    /// the end of the data are masked: zero inputs, zero loss gradient, no
    /// loss; the loss is the mean over the batch's real rows.
    private func leaf(batch: Int, microBatch: Int, index: Int, health: Bool) {
        let gatherStart = ContinuousClock.now
        let m = config.microBatchSize
        let k = config.model.outputWidth
        let workspace = block.workspaces[index]
        let x = inputs(MicroBatchPosition(epoch: epoch, batch: batch, microBatch: microBatch), index: index)
        let batchStart = batch * config.globalBatchSize
        let batchRows = min(config.globalBatchSize, train.rowCount - batchStart)
        let start = batchStart + microBatch * m
        let (rows, valid) = rows(batch: batch, microBatch: microBatch)
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
        let statistics = block.statistics[index]
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
        let dZ = workspace.layerGradients[config.model.layers.count - 1].topRows(m)
        config.loss.evaluate(
            logits: logits, targets: targets, scale: 1 / Float(batchRows),
            gradient: dZ, rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer, pool: pool)
        if valid < m { (dZ.pointer + valid * k).update(repeating: 0, count: (m - valid) * k) }
        epochLoss += orderedSum(rowLoss.pointer, count: valid)
        epochCorrect += orderedSum(rowCorrect.pointer, count: valid)
        let backwardStart = ContinuousClock.now
        times.loss += backwardStart - lossStart
        network.backwardData(rows: m, parameters: parameters, tails: block.tails[index], workspace: workspace, pool: pool)
        times.backward += ContinuousClock.now - backwardStart
    }

    /// The order's rows of micro-batch `microBatch` of global batch `batch`,
    /// and how many of its m rows are real (fewer in a kept partial batch).
    private func rows(batch: Int, microBatch: Int) -> (UnsafeBufferPointer<Int32>, valid: Int) {
        let start = batch * config.globalBatchSize + microBatch * config.microBatchSize
        let valid = max(0, min(config.microBatchSize, train.rowCount - start))
        return (UnsafeBufferPointer(rebasing: order[min(start, train.rowCount)..<min(start + valid, train.rowCount)]), valid)
    }

    /// The input rows of micro-batch `position` in block position `index`:
    /// the rows gathered ahead if they are that micro-batch's, else gathered
    /// now; then the rank's next micro-batch of the epoch is gathered ahead
    /// into the block's spare rows — in the background by a pool worker with
    /// nothing else to do (single-tile products, serial passes) while this
    /// one runs, or, on a rank of one thread, a row at a time while the rank
    /// waits for the others (`idleGather`), the rest when it is needed. The
    /// same bytes either way.
    private func inputs(_ position: MicroBatchPosition, index: Int) -> Matrix {
        if prefetched != nil, pool.threadCount > 1 { pool.finishBackground() }
        if prefetched == position {
            idleGather.finish()
            block.swapSpare(into: index)
        } else {
            idleGather.cancel()
            aimGather(at: position, into: block.inputs[index].pointer)
            prefetchJob.pointee.gather(0..<prefetchJob.pointee.count)
        }
        prefetched = nil
        if pool.threadCount > 1 || communicator.size > 1, let next = nextPosition(after: position) {
            aimGather(at: next, into: block.spare.pointer)
            if pool.threadCount > 1 {
                pool.startBackground(prefetchJob, count: prefetchJob.pointee.tasks)
            } else {
                idleGather.begin()
            }
            prefetched = next
        }
        return block.inputs[index]
    }

    /// Points the gather job at micro-batch `position`'s rows and `destination` (no job may be running).
    private func aimGather(at position: MicroBatchPosition, into destination: UnsafeMutablePointer<Float>) {
        let (rows, valid) = rows(batch: position.batch, microBatch: position.microBatch)
        prefetchJob.pointee.rows = rows
        prefetchJob.pointee.valid = valid
        prefetchJob.pointee.count = config.microBatchSize
        prefetchJob.pointee.destination = destination
    }

    /// The micro-batch this rank runs after `position` in the same epoch, if any.
    private func nextPosition(after position: MicroBatchPosition) -> MicroBatchPosition? {
        let local = config.microBatchCount / communicator.size
        let first = communicator.rank * local
        if position.microBatch + 1 < first + local {
            return MicroBatchPosition(epoch: position.epoch, batch: position.batch, microBatch: position.microBatch + 1)
        }
        guard position.batch + 1 < stepsPerEpoch else { return nil }
        return MicroBatchPosition(epoch: position.epoch, batch: position.batch + 1, microBatch: first)
    }

    /// Waits for a background gather still running, or drops an idle one
    /// (before the order or the trainer goes).
    func settlePrefetch() {
        guard prefetched != nil else { return }
        if pool.threadCount > 1 { pool.finishBackground() }
        idleGather.cancel()
        prefetched = nil
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

/// A micro-batch of an epoch.
struct MicroBatchPosition: Equatable {
    var epoch: Int
    var batch: Int
    var microBatch: Int
}

/// The gather of one micro-batch's input rows (masked rows zeroed), a few
/// rows per task, so a worker doing it in the background is soon free for a
/// parallel pass; in place, the caller runs every task.
struct RowPrefetch: PoolJob {
    let dataset: Dataset
    var rows = UnsafeBufferPointer<Int32>(start: nil, count: 0)
    var valid = 0
    var count = 0
    var destination: UnsafeMutablePointer<Float>
    /// Rows per task: about 8 Ki floats.
    let rowsPerTask: Int

    init(dataset: Dataset, destination: UnsafeMutablePointer<Float>) {
        self.dataset = dataset
        self.destination = destination
        rowsPerTask = max(1, 8_192 / dataset.featureCount)
    }

    var tasks: Int { (count + rowsPerTask - 1) / rowsPerTask }

    func run(_ index: Int) {
        gather(index * rowsPerTask..<min((index + 1) * rowsPerTask, count))
    }

    /// Rows `range` of the micro-batch (within 0..<count).
    func gather(_ range: Range<Int>) {
        let width = dataset.featureCount
        let gathered = max(range.lowerBound, min(range.upperBound, valid))
        if gathered > range.lowerBound {
            dataset.gatherFeatures(
                rows: UnsafeBufferPointer(rebasing: rows[range.lowerBound..<gathered]),
                into: destination + range.lowerBound * width)
        }
        if range.upperBound > gathered {
            (destination + gathered * width).update(repeating: 0, count: (range.upperBound - gathered) * width)
        }
    }
}

/// The gather aimed by `RowPrefetch`, on a rank of one thread: a row per
/// piece while the communicator waits for other ranks, the rest at `finish`.
final class IdleGather: IdleWork {
    private let job: UnsafeMutablePointer<RowPrefetch>
    private var next = 0
    private var isPending = false

    init(job: UnsafeMutablePointer<RowPrefetch>) { self.job = job }

    /// Starts on the rows the job is aimed at.
    func begin() {
        next = 0
        isPending = true
    }

    func runPiece() -> Bool {
        guard isPending, next < job.pointee.count else { return false }
        job.pointee.gather(next..<(next + 1))
        next += 1
        return true
    }

    /// Gathers the rows not yet done.
    func finish() {
        guard isPending else { return }
        job.pointee.gather(next..<job.pointee.count)
        isPending = false
    }

    /// Drops the gather (the job is about to be aimed elsewhere or to go).
    func cancel() { isPending = false }
}
