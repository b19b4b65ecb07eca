// InProcessCommunicatorGroup: N ranks as N threads of one process, joined by
// shared-memory queues, for testing distributed logic without MPI. The sums
// run the same deterministic algorithm as MPICommunicator and give the same
// bits. Each `run` starts fresh threads and queues, hands every thread its
// own communicator, and returns when every rank has returned, thrown or
// aborted.

import Foundation
import Synchronization

/// A world of `size` ranks on threads of this process.
public struct InProcessCommunicatorGroup: Sendable {
    /// The number of ranks.
    public let size: Int
    /// How long a rank waits for a message before it throws `CollectiveError.timedOut`.
    public let timeout: Duration
    /// The largest message the sums send at once, in bytes.
    public let messagePieceBytes: Int

    /// Describes a group; nothing starts until `run`.
    public init(size: Int, timeout: Duration = .seconds(120), messagePieceBytes: Int = 4 << 20) {
        precondition(size >= 1, "a group needs at least one rank, got \(size)")
        precondition(messagePieceBytes >= 16, "message pieces must hold at least 16 bytes")
        self.size = size
        self.timeout = timeout
        self.messagePieceBytes = messagePieceBytes
    }

    /// Runs `body` once per rank, each on its own thread, and returns every rank's
    /// outcome in rank order. A rank that aborts yields `CollectiveError.aborted`
    /// (its thread stays parked until the process ends).
    public func run<Value: Sendable>(
        _ body: @escaping @Sendable (InProcessCommunicator) throws -> Value
    ) -> [Result<Value, any Error>] {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) * 1e-18
        let fabric = InProcessFabric(size: size, timeoutSeconds: seconds)
        let outcomes = Outcomes<Value>(size: size)
        let pieceBytes = messagePieceBytes
        for rank in 0..<size {
            let thread = Thread {
                let communicator = InProcessCommunicator(fabric: fabric, rank: rank, messagePieceBytes: pieceBytes)
                outcomes.store(Result { try body(communicator) }, rank: rank)
                fabric.leave(rank: rank)
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<size { fabric.finished.wait() }
        return (0..<size).map { rank in
            outcomes.take(rank: rank)
                ?? .failure(CollectiveError.aborted(rank: rank, code: fabric.abortCode(of: rank) ?? 0))
        }
    }
}

/// Where the rank threads leave their results.
private final class Outcomes<Value: Sendable>: Sendable {
    private let slots: Mutex<[Result<Value, any Error>?]>

    init(size: Int) { slots = Mutex(Array(repeating: nil, count: size)) }

    func store(_ outcome: Result<Value, any Error>, rank: Int) {
        slots.withLock { $0[rank] = outcome }
    }

    func take(rank: Int) -> Result<Value, any Error>? {
        slots.withLock { $0[rank] }
    }
}
