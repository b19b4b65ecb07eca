// ThreadPool: a fixed set of threads that run the tasks of one call at a time.
//
// A call `parallelFor(n) { i in ... }` runs task indices 0..<n, each exactly
// once, on the calling thread and the workers, and returns when all are done.
// Which thread runs a task never matters for the result: callers cut work into
// fixed pieces (GEMM tiles, elementwise ranges) whose boundaries depend
// on the problem size only, never on the thread count (DESIGN.md 3).
//
// Every thread of the pool, the caller included, is limited to one OpenMP
// thread so oneDNN never threads inside a call.

import CDNNL
import Foundation
import CKernels
import Synchronization

public final class ThreadPool: @unchecked Sendable {
    /// Threads that run tasks, the calling thread included.
    public let threadCount: Int

    // The workers hold only this state, never the pool itself, so dropping the
    // last reference to the pool reaches `deinit`, which stops them.
    private let shared: PoolState

    /// Starts `threadCount - 1` worker threads; the caller is the last thread.
    public init(threadCount: Int) {
        precondition(threadCount >= 1, "ThreadPool needs at least one thread, got \(threadCount)")
        self.threadCount = threadCount
        shared = PoolState(workerCount: threadCount - 1)
        _ = dpt_omp_set_one_thread()
        for index in 1..<threadCount {
            let thread = Thread { [shared] in
                pthread_setspecific(workerIndexKey, UnsafeRawPointer(bitPattern: index))
                shared.workerLoop()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops the workers. The pool must not be in a call, and takes no calls afterwards.
    public func shutdown() { shared.shutdown() }

    deinit {
        shutdown()
    }

    /// Runs on the calling thread after every task the calling thread ran —
    /// a chance to drive nonblocking communication (which does not progress on
    /// its own) in the middle of long passes. Set it outside any call.
    public var callerHook: (() -> Void)?

    /// Index of the calling thread among the threads of the pool it works
    /// for: 1..<threadCount for a worker, 0 for any other thread (a pool's
    /// caller). Inside a task it tells which per-thread scratch is the
    /// caller's own.
    public static var currentThreadIndex: Int {
        Int(bitPattern: pthread_getspecific(workerIndexKey))
    }

    /// Runs `body(i)` for every i in 0..<count across the pool's threads.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if threadCount == 1 || count == 1 {
            for index in 0..<count {
                body(index)
                callerHook?()
            }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            shared.run(escapable, count: count, callerHook: callerHook)
        }
    }

    /// Splits 0..<count into fixed chunks of `grain` elements (the last one
    /// shorter) and runs `body(range)` for each. Chunk boundaries depend on
    /// count and grain only.
    public func parallelRanges(_ count: Int, grain: Int = 16_384, _ body: (Range<Int>) -> Void) {
        precondition(grain > 0, "grain must be positive")
        let chunks = (count + grain - 1) / grain
        parallelFor(chunks) { chunk in
            let start = chunk * grain
            body(start..<min(start + grain, count))
        }
    }

    /// Runs `job.run(i)` for every i in 0..<count across the pool's threads.
    ///
    /// The form for every pass of a training step: a closure handed to the
    /// workers costs a heap allocation per call (`withoutActuallyEscaping`
    /// boxes it), a job value is read in place from the caller's stack.
    public func parallelFor<Job: PoolJob>(_ count: Int, _ job: Job) {
        if count <= 0 { return }
        if threadCount == 1 || count == 1 {
            for index in 0..<count {
                job.run(index)
                callerHook?()
            }
            return
        }
        withUnsafePointer(to: job) { pointer in
            shared.run(job: UnsafeRawPointer(pointer), type: Job.self, count: count, callerHook: callerHook)
        }
    }

    /// Posts `job.run(i)` for every i in 0..<count as background work: a
    /// worker with nothing else to do runs the tasks one at a time, and looks
    /// for a new call between two tasks (so a parallel pass is held up by at
    /// most one short task), while the caller goes on; `finishBackground`
    /// runs what no worker has taken and waits for the rest. One job at a
    /// time; `job` must stay valid and unchanged until `finishBackground` returns.
    public func startBackground<Job: PoolJob>(_ job: UnsafePointer<Job>, count: Int) {
        shared.startBackground(UnsafeRawPointer(job), type: Job.self, count: count)
    }

    /// Returns once every task of the posted background job has run (at once if none is posted).
    public func finishBackground() {
        shared.finishBackground()
    }

    /// `parallelRanges` for a job: `job.run(range)` for every fixed chunk of 0..<count.
    public func parallelRanges<Job: RangeJob>(_ count: Int, grain: Int = 16_384, _ job: Job) {
        precondition(grain > 0, "grain must be positive")
        parallelFor((count + grain - 1) / grain, Chunks(job: job, count: count, grain: grain))
    }
}

/// Work for `ThreadPool.parallelFor`: task `index` of a call.
public protocol PoolJob {
    func run(_ index: Int)
    /// Runs task `index` of the job stored at `job` (the pool calls this).
    static func invoke(_ job: UnsafeRawPointer, _ index: Int)
}

extension PoolJob {
    public static func invoke(_ job: UnsafeRawPointer, _ index: Int) {
        job.assumingMemoryBound(to: Self.self).pointee.run(index)
    }
}

/// Work for `ThreadPool.parallelRanges`: one chunk of the index range.
public protocol RangeJob {
    func run(_ range: Range<Int>)
}

/// A range job cut into the fixed chunks of `parallelRanges`.
private struct Chunks<Job: RangeJob>: PoolJob {
    let job: Job
    let count: Int
    let grain: Int

    func run(_ chunk: Int) {
        let start = chunk * grain
        job.run(start..<min(start + grain, count))
    }
}

/// Thread-specific key holding a worker's index (absent, hence 0, elsewhere).
private let workerIndexKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, nil)
    precondition(status == 0, "pthread_key_create failed with \(status)")
    return key
}()

/// What the caller and the workers of one pool share.
///
/// A call publishes the task, then bumps `generation`. Workers spin on
/// `generation` for a short while after each call (the next call of a
/// training step follows within microseconds) and only then sleep on `wake`;
/// the bump happens under `mutex` so a worker going to sleep cannot miss it.
/// The caller spins until every worker has reported, yielding the core now
/// and then in case a worker was descheduled. A waiting worker also runs
/// the tasks of a posted background job, one at a time; a call made
/// meanwhile waits for that worker's report like any other.
private final class PoolState: @unchecked Sendable {
    let workerCount: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let generation = Atomic<Int>(0)
    private let finishedWorkers = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    private var taskCount = 0
    private var task: ((Int) -> Void)?
    private var job: UnsafeRawPointer?
    private var jobType: (any PoolJob.Type)?
    private let nextTask = Atomic<Int>(0)
    /// Background work: post number << 32 | next task, claimed by compare
    /// and exchange; the task field is `closed` outside a post, so a thread
    /// that read an old word can never claim a task of a later post.
    private let backgroundWord = Atomic<Int>(closed)
    private let backgroundCount = Atomic<Int>(0)
    private let backgroundDone = Atomic<Int>(0)
    private var backgroundJob: UnsafeRawPointer?
    private var backgroundType: (any PoolJob.Type)?
    private var backgroundPosts = 0
    private static let closed = 1 << 31

    /// Polls of `generation`, a PAUSE apart, before a worker sleeps (a few
    /// milliseconds: waking a sleeping worker costs tens of microseconds on a
    /// virtual machine, a long gap between two passes of a step is shorter).
    private static let spinLimit = 200_000

    init(workerCount: Int) {
        self.workerCount = workerCount
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
    }

    // Runs once the pool and every worker have let go of the state.
    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    func shutdown() {
        pthread_mutex_lock(mutex)
        shuttingDown.store(true, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Runs tasks 0..<count on the calling thread and every worker; returns
    /// when all are done and no worker holds `body` any more.
    func run(_ body: @escaping (Int) -> Void, count: Int, callerHook: (() -> Void)?) {
        task = body
        publishAndRun(count: count, callerHook: callerHook)
        task = nil
    }

    /// The same for a job stored at `job` (read in place; it outlives the call).
    func run(job: UnsafeRawPointer, type: any PoolJob.Type, count: Int, callerHook: (() -> Void)?) {
        self.job = job
        jobType = type
        publishAndRun(count: count, callerHook: callerHook)
        self.job = nil
        jobType = nil
    }

    private func publishAndRun(count: Int, callerHook: (() -> Void)?) {
        precondition(!shuttingDown.load(ordering: .acquiring), "ThreadPool used after shutdown()")
        taskCount = count
        finishedWorkers.store(0, ordering: .relaxed)
        nextTask.store(0, ordering: .relaxed)
        pthread_mutex_lock(mutex)
        generation.add(1, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)

        runCurrentTask(afterEach: callerHook)

        var polls = 0
        while finishedWorkers.load(ordering: .acquiring) < workerCount {
            polls += 1
            dpt_cpu_pause()
            // Now and then give the core away: threads may outnumber cores.
            if polls % 20_000 == 0 { sched_yield() }
        }
    }

    func startBackground(_ job: UnsafeRawPointer, type: any PoolJob.Type, count: Int) {
        precondition(backgroundWord.load(ordering: .relaxed) & 0xffff_ffff == Self.closed,
                     "a background job is still posted")
        guard count > 0 else { return }
        backgroundJob = job
        backgroundType = type
        backgroundCount.store(count, ordering: .relaxed)
        backgroundDone.store(0, ordering: .relaxed)
        backgroundPosts += 1
        pthread_mutex_lock(mutex)
        backgroundWord.store(backgroundPosts << 32, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    func finishBackground() {
        let word = backgroundWord.load(ordering: .relaxed)
        if word & 0xffff_ffff == Self.closed { return }
        while runBackgroundTask() {}
        let count = backgroundCount.load(ordering: .relaxed)
        var polls = 0
        while backgroundDone.load(ordering: .acquiring) < count {
            polls += 1
            dpt_cpu_pause()
            if polls % 20_000 == 0 { sched_yield() }
        }
        backgroundWord.store(backgroundPosts << 32 | Self.closed, ordering: .releasing)
        backgroundJob = nil
        backgroundType = nil
    }

    /// Whether the posted background job has a task nobody has claimed.
    private var backgroundIsWaiting: Bool {
        backgroundWord.load(ordering: .relaxed) & 0xffff_ffff < backgroundCount.load(ordering: .relaxed)
    }

    /// Claims and runs one task of the posted background job; false when none is left.
    private func runBackgroundTask() -> Bool {
        var word = backgroundWord.load(ordering: .acquiring)
        while true {
            let index = word & 0xffff_ffff
            guard index < backgroundCount.load(ordering: .relaxed) else { return false }
            let (exchanged, current) = backgroundWord.compareExchange(
                expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            if exchanged { break }
            word = current
        }
        if let job = backgroundJob, let type = backgroundType { type.invoke(job, word & 0xffff_ffff) }
        backgroundDone.add(1, ordering: .releasing)
        return true
    }

    private func runTasks(_ body: (Int) -> Void, count: Int, afterEach hook: (() -> Void)? = nil) {
        while true {
            let index = nextTask.add(1, ordering: .relaxed).oldValue
            if index >= count { return }
            body(index)
            hook?()
        }
    }

    private func runJob(
        _ job: UnsafeRawPointer, type: any PoolJob.Type, count: Int, afterEach hook: (() -> Void)? = nil
    ) {
        while true {
            let index = nextTask.add(1, ordering: .relaxed).oldValue
            if index >= count { return }
            type.invoke(job, index)
            hook?()
        }
    }

    func workerLoop() {
        _ = dpt_omp_set_one_thread()
        var seen = 0
        while true {
            // Wait for the next call, running a posted background job meanwhile.
            var polls = 0
            while generation.load(ordering: .acquiring) == seen && !shuttingDown.load(ordering: .relaxed) {
                if runBackgroundTask() {
                    polls = 0
                } else if polls < Self.spinLimit {
                    polls += 1
                    dpt_cpu_pause()
                } else {
                    pthread_mutex_lock(mutex)
                    while generation.load(ordering: .acquiring) == seen && !shuttingDown.load(ordering: .relaxed)
                        && !backgroundIsWaiting
                    {
                        pthread_cond_wait(wake, mutex)
                    }
                    pthread_mutex_unlock(mutex)
                    polls = 0
                }
            }
            if shuttingDown.load(ordering: .acquiring) { return }
            seen = generation.load(ordering: .acquiring)
            runCurrentTask(afterEach: nil)
            finishedWorkers.add(1, ordering: .releasing)
        }
    }

    /// Runs the published task's remaining indices. The closure reference
    /// dies when this returns, before the worker reports: once the last worker
    /// reports, the caller leaves `withoutActuallyEscaping`, which traps if a
    /// reference to the closure is still alive.
    @inline(never)
    private func runCurrentTask(afterEach hook: (() -> Void)?) {
        if let job, let jobType {
            runJob(job, type: jobType, count: taskCount, afterEach: hook)
        } else if let body = task {
            runTasks(body, count: taskCount, afterEach: hook)
        }
    }
}
