// ThreadPool: every task runs exactly once, chunk boundaries depend on the
// problem size only, and a pool that is no longer referenced goes away.

import Engine
import Testing

@Suite("ThreadPool")
struct ThreadPoolTests {
    @Test("parallelFor runs every index exactly once, call after call",
          arguments: [1, 2, 3], [0, 1, 2, 7, 1000])
    func parallelForRunsEachIndexOnce(threads: Int, count: Int) {
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
        defer { runs.deallocate() }
        runs.initialize(repeating: 0)
        // Many short calls back to back: a worker still holding the previous
        // call's closure, or missing a call, shows up here.
        for _ in 0..<200 {
            pool.parallelFor(count) { index in runs[index] += 1 }
        }
        #expect(runs.prefix(count).allSatisfy { $0 == 200 })
    }

    @Test("parallelRanges cuts fixed chunks of `grain` whatever the thread count", arguments: [1, 2, 3])
    func parallelRangesChunksDependOnCountAndGrainOnly(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        let count = 1000
        let grain = 96
        let chunks = (count + grain - 1) / grain
        let seen = UnsafeMutableBufferPointer<Range<Int>>.allocate(capacity: chunks)
        defer { seen.deallocate() }
        seen.initialize(repeating: 0..<0)
        pool.parallelRanges(count, grain: grain) { range in seen[range.lowerBound / grain] = range }
        let expected = (0..<chunks).map { $0 * grain..<min($0 * grain + grain, count) }
        #expect(Array(seen) == expected)
    }

    @Test("background tasks run exactly once, beside parallel calls and post after post",
          arguments: [1, 2, 3], [0, 1, 37])
    func backgroundTasksRunOnce(threads: Int, count: Int) {
        let pool = ThreadPool(threadCount: threads)
        defer { pool.shutdown() }
        let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
        defer { runs.deallocate() }
        runs.initialize(repeating: 0)
        let job = UnsafeMutablePointer<CountRuns>.allocate(capacity: 1)
        defer { job.deallocate() }
        job.initialize(to: CountRuns(runs: runs.baseAddress!))
        var calls = 0
        for post in 0..<100 {
            pool.startBackground(job, count: count)
            // Parallel calls while the job is posted: its tasks go to idle workers between them.
            for _ in 0..<(post % 4) { pool.parallelFor(5) { _ in }; calls += 1 }
            pool.finishBackground()
            #expect(runs.prefix(count).allSatisfy { $0 == post + 1 }, "post \(post)")
        }
        pool.finishBackground()  // nothing posted: returns at once
        #expect(runs.prefix(count).allSatisfy { $0 == 100 })
        #expect(calls == 150)
    }

    @Test("a pool is released when its last reference goes", arguments: [1, 3])
    func poolIsReleasedWithItsLastReference(threads: Int) {
        weak var released: ThreadPool?
        do {
            let pool = ThreadPool(threadCount: threads)
            released = pool
            pool.parallelFor(8) { _ in }
        }
        #expect(released == nil)
    }
}

/// Counts the runs of every background task.
private struct CountRuns: PoolJob {
    let runs: UnsafeMutablePointer<Int>

    func run(_ index: Int) { runs[index] += 1 }
}
