// InProcessFabric: the message queues that connect the ranks of an
// in-process group, one FIFO per ordered pair of ranks (sender, receiver),
// like MPI's non-overtaking order between two ranks. A send copies its bytes
// into the queue and returns (buffered), so an exchange is send then receive
// and cannot deadlock. A receive blocks on the pair's semaphore, which counts
// the messages queued plus one wake-up when the sender leaves or any rank
// aborts; so a receive from a rank that finished, a rank that aborted, or a
// rank that never sends throws instead of hanging.

import Dispatch
import Synchronization

/// The queues of one run of an `InProcessCommunicatorGroup`.
final class InProcessFabric: Sendable {
    /// Number of ranks.
    let size: Int
    /// How long a receive waits before it reports a stalled peer.
    let timeoutSeconds: Double
    /// Signalled once by every rank that finishes or aborts.
    let finished = DispatchSemaphore(value: 0)

    private struct State {
        /// Messages in flight, indexed `sender * size + receiver`.
        var queues: [[[UInt8]]]
        /// Ranks that returned, threw or aborted.
        var hasLeft: [Bool]
        /// The first abort, if any; every later receive throws it.
        var firstAbort: CollectiveError?
        /// The code each aborted rank gave.
        var abortCodes: [Int32?]
    }

    private let state: Mutex<State>
    /// One per queue; counts queued messages plus wake-ups for leaving and aborting.
    private let arrivals: [DispatchSemaphore]

    init(size: Int, timeoutSeconds: Double) {
        self.size = size
        self.timeoutSeconds = timeoutSeconds
        state = Mutex(State(
            queues: Array(repeating: [], count: size * size),
            hasLeft: Array(repeating: false, count: size),
            firstAbort: nil,
            abortCodes: Array(repeating: nil, count: size)))
        arrivals = (0..<size * size).map { _ in DispatchSemaphore(value: 0) }
    }

    /// Queues a copy of `bytes` for `receiver`.
    func send(_ bytes: UnsafeRawBufferPointer, from sender: Int, to receiver: Int) {
        let message = [UInt8](bytes)
        let channel = sender * size + receiver
        state.withLock { $0.queues[channel].append(message) }
        arrivals[channel].signal()
    }

    /// Fills `bytes` with the next message from `sender`, which must have exactly that length.
    func receive(
        into bytes: UnsafeMutableRawBufferPointer, from sender: Int, to receiver: Int
    ) throws(CollectiveError) {
        let channel = sender * size + receiver
        if let abort = state.withLock({ $0.firstAbort }) { throw abort }
        while true {
            if arrivals[channel].wait(timeout: .now() + timeoutSeconds) == .timedOut {
                throw .timedOut(rank: receiver, peer: sender, seconds: timeoutSeconds)
            }
            let outcome: Result<[UInt8], CollectiveError>? = state.withLock { state in
                if let abort = state.firstAbort { return .failure(abort) }
                if !state.queues[channel].isEmpty { return .success(state.queues[channel].removeFirst()) }
                if state.hasLeft[sender] { return .failure(.peerExited(rank: receiver, peer: sender)) }
                return nil
            }
            switch outcome {
            case .success(let message):
                guard message.count == bytes.count else {
                    throw .messageLengthMismatch(
                        rank: receiver, peer: sender, expectedBytes: bytes.count, receivedBytes: message.count)
                }
                if !message.isEmpty { bytes.copyBytes(from: message) }
                return
            case .failure(let error):
                throw error
            case nil:
                continue
            }
        }
    }

    /// Records that `rank` finished; its receivers wake up instead of waiting for it.
    func leave(rank: Int) {
        state.withLock { $0.hasLeft[rank] = true }
        for receiver in 0..<size where receiver != rank {
            arrivals[rank * size + receiver].signal()
        }
        finished.signal()
    }

    /// Records that `rank` aborted; every rank's pending and later receives throw.
    func abort(rank: Int, code: Int32) {
        state.withLock { state in
            state.hasLeft[rank] = true
            state.abortCodes[rank] = code
            if state.firstAbort == nil { state.firstAbort = .aborted(rank: rank, code: code) }
        }
        for semaphore in arrivals { semaphore.signal() }
        finished.signal()
    }

    /// The code `rank` aborted with, if it did.
    func abortCode(of rank: Int) -> Int32? {
        state.withLock { $0.abortCodes[rank] }
    }
}
