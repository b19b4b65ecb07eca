// Preemption: a request to stop at the next step boundary, set from a signal
// handler (or, for tests and `dptrain verify-resume`, scheduled at a step).
//
// SIGTERM (a scheduler's preemption notice; mpiexec forwards it to every rank,
// MPI-NOTES.md) and SIGINT only count the signal here: an atomic store is all a
// signal handler may safely do. At every step boundary the ranks agree on the
// flag with one allreduceMax (DESIGN.md 4), rank 0 writes a checkpoint and
// waits for it, and every rank stops with `TrainingError.preempted` (exit code
// 75 in the CLI). A second signal ends the process at once with `_exit`:
// checkpoint files are replaced atomically (AtomicFile), so an interrupted
// write leaves only a `.tmp` file that the next save removes, never a damaged
// checkpoint.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A request to stop training at the next step boundary, with a checkpoint.
public final class PreemptionFlag: Sendable {
    /// The flag the process's SIGTERM and SIGINT handlers raise (`installSignalHandlers`).
    public static let process = PreemptionFlag()

    private let signalCount = Atomic<Int>(0)
    private let firstSignal = Atomic<Int32>(0)
    private let scheduledStep: Int

    /// A flag no signal has raised; with `stopAfterStep`, it is raised once that many steps are done.
    public init(stopAfterStep: Int? = nil) {
        scheduledStep = stopAfterStep ?? -1
    }

    /// Raises the flag, as a signal handler does; returns how many times it was raised.
    @discardableResult
    public func raise(signal: Int32 = 0) -> Int {
        _ = firstSignal.compareExchange(expected: 0, desired: signal, ordering: .relaxed)
        return signalCount.add(1, ordering: .relaxed).newValue
    }

    /// Whether a signal (or `raise`) asked to stop.
    public var isRaised: Bool { signalCount.load(ordering: .relaxed) > 0 }

    /// Why training stops once global step `step` is done, as a code ranks can agree on with a
    /// maximum: 0 (it does not), the signal's number, or `requestCode` / `scheduleCode`.
    public func stopCode(afterStep step: Int) -> Int64 {
        if isRaised {
            let signal = firstSignal.load(ordering: .relaxed)
            return signal > 0 ? Int64(signal) : Self.requestCode
        }
        return step == scheduledStep ? Self.scheduleCode : 0
    }

    /// The stop code of `raise()` without a signal.
    static let requestCode: Int64 = 1000
    /// The stop code of `stopAfterStep`.
    static let scheduleCode: Int64 = 1001

    /// What a stop code stands for, for messages.
    public static func cause(ofStopCode code: Int64) -> String {
        switch code {
        case Int64(SIGTERM): return "SIGTERM"
        case Int64(SIGINT): return "SIGINT"
        case requestCode: return "a stop request"
        case scheduleCode: return "the scheduled stop"
        default: return "signal \(code)"
        }
    }

    /// Routes SIGTERM and SIGINT to `PreemptionFlag.process`; a second signal calls
    /// `_exit(secondSignalExitCode)` at once.
    public static func installSignalHandlers(secondSignalExitCode: Int32) {
        _ = process  // initialise the global now: a signal handler must not run its initialiser
        immediateExitCode.store(secondSignalExitCode, ordering: .relaxed)
        signal(SIGTERM, handlePreemptionSignal)
        signal(SIGINT, handlePreemptionSignal)
        // A blocked mask is inherited across exec (some launchers block these signals in
        // their children); threads started from now on inherit this thread's mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }
}

private let immediateExitCode = Atomic<Int32>(75)

/// The signal handler: async-signal-safe calls only (atomics, write, _exit).
private func handlePreemptionSignal(_ number: Int32) {
    if PreemptionFlag.process.raise(signal: number) >= 2 {
        let message: StaticString = "dptrain: second signal: exiting at once; the checkpoints on disk are intact\n"
        _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
        _exit(immediateExitCode.load(ordering: .relaxed))
    }
}
