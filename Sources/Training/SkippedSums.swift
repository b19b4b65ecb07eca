// SkippedSums: `dptrain bench --skip-sums`, a diagnostic. It passes every
// call to the communicator it wraps except the gradient and parameter sums
// of a step, which it skips: each rank updates its own part from its own
// gradient and never receives the others' (the numbers are wrong, and the
// bench says so). What remains is the step without any reduction — the
// bound no reduction scheme can beat — beside the same GEMM-bound limit.
// The agreement flags, loss and batch-norm sums still go to every rank.

import Collective

final class SkippedSums: Communicator {
    private let base: any Communicator

    init(wrapping base: any Communicator) { self.base = base }

    var rank: Int { base.rank }
    var size: Int { base.size }

    func barrier() throws(CollectiveError) { try base.barrier() }

    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(CollectiveError) {
        try base.broadcast(bytes, root: root)
    }

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws(CollectiveError) {
        try base.allreduceSum(values)
    }

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws(CollectiveError) {
        try base.allreduceSum(values)
    }

    func allreduceMax(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError) {
        try base.allreduceMax(values)
    }

    func allreduceMin(_ values: UnsafeMutableBufferPointer<Int64>) throws(CollectiveError) {
        try base.allreduceMin(values)
    }

    func abort(code: Int32) -> Never { base.abort(code: code) }

    func startSum(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {}

    func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {}

    func startAllgather(_ values: UnsafeMutableBufferPointer<Float>, bucket: Int) throws(CollectiveError) {}

    /// The wrapped split, so each rank still steps the optimizer on its share only.
    func ownedRange(count: Int) -> Range<Int> { base.ownedRange(count: count) }

    func progressSums() throws(CollectiveError) {}

    func finishSums() throws(CollectiveError) {}

    /// Private buffers: nothing is read across ranks.
    func nodeSharedFloats(count: Int, summed: Bool) throws(CollectiveError) -> UnsafeMutablePointer<Float>? { nil }

    func setIdleWork(_ work: (any IdleWork)?) { base.setIdleWork(work) }

    var choosesTransport: Bool { false }

    func setStreaming(_ streaming: Bool) {}
}
