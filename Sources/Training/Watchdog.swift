// Watchdog: turns a hung job into a failure. A background thread checks a
// deadline set by the training thread before each phase that waits on other
// ranks (start-up, a step's collectives); when a deadline passes it names the
// rank and the phase on stderr and aborts the whole job (MPI_Abort), so the
// allocation is not spent hanging and a restart wrapper can take over
// (DESIGN.md 4).

import Collective
import Engine
import Foundation
import Synchronization

public final class Watchdog: @unchecked Sendable {
    /// Exit code of a job ended by the watchdog.
    public static let exitCode: Int32 = 70

    private let state = Mutex<(deadline: ContinuousClock.Instant?, phase: String, seconds: Double)>((nil, "", 0))
    private let stopped = Atomic<Bool>(false)
    private let rank: Int

    /// Starts the watchdog thread; `abort` ends the job (it runs on the watchdog thread).
    public init(rank: Int, abort: @escaping @Sendable (Int32) -> Void) {
        self.rank = rank
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.05)
                let expired = state.withLock { current -> (String, Double)? in
                    guard let deadline = current.deadline, ContinuousClock.now > deadline else { return nil }
                    return (current.phase, current.seconds)
                }
                if let (phase, seconds) = expired {
                    let message = "dptrain: error: rank \(self.rank) stalled in \(phase) for more than \(seconds) s; aborting the job\n"
                    FileHandle.standardError.write(Data(message.utf8))
                    abort(Watchdog.exitCode)
                    return
                }
            }
        }
        thread.start()
    }

    /// Expects `phase` to finish within `seconds` (no limit when `seconds` ≤ 0).
    public func arm(_ phase: String, seconds: Double) {
        guard seconds > 0 else { return }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
        state.withLock { $0 = (deadline, phase, seconds) }
    }

    /// The current phase finished.
    public func disarm() {
        state.withLock { $0.deadline = nil }
    }

    /// Stops the thread.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    deinit { stop() }
}
