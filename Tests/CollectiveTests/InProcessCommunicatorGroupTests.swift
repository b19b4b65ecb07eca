// The in-process group's other collectives (broadcast, maximum, minimum,
// barrier) at any world size, and how it reports a rank that finished early,
// aborted, stalled, or passed a buffer of the wrong length.

import Collective
import Synchronization
import Testing

@Suite struct InProcessCommunicatorGroupTests {
    @Test(arguments: [1, 2, 3, 4, 8], [0, -1])
    func broadcastCopiesTheRootsBytesToEveryRank(ranks: Int, rootFromEnd: Int) throws {
        let root = rootFromEnd < 0 ? ranks - 1 : 0
        let outcomes = InProcessCommunicatorGroup(size: ranks, messagePieceBytes: 64).run { communicator in
            var bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7 + communicator.rank * 13) }
            try bytes.withUnsafeMutableBytes { try communicator.broadcast($0, root: root) }
            return bytes
        }
        let expected = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7 + root * 13) }
        for outcome in outcomes { #expect(try outcome.get() == expected) }
    }

    @Test(arguments: [1, 2, 3, 5, 8])
    func maxAndMinCombineEveryRanksFlags(ranks: Int) throws {
        let outcomes = InProcessCommunicatorGroup(size: ranks).run { communicator in
            let rank = Int64(communicator.rank)
            var values: [Int64] = [rank, -rank, rank == 2 ? 100 : 0, .min + rank]
            var smallest = values
            try values.withUnsafeMutableBufferPointer { try communicator.allreduceMax($0) }
            try smallest.withUnsafeMutableBufferPointer { try communicator.allreduceMin($0) }
            return [values, smallest]
        }
        let last = Int64(ranks - 1)
        for outcome in outcomes {
            let result = try outcome.get()
            #expect(result[0] == [last, 0, ranks > 2 ? 100 : 0, .min + last])
            #expect(result[1] == [0, -last, 0, .min])
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func anyRankIsTrueEverywhereWhenOneRankRaisesIt(ranks: Int) throws {
        let outcomes = InProcessCommunicatorGroup(size: ranks).run { communicator in
            [try communicator.anyRank(communicator.rank == ranks - 1), try communicator.anyRank(false)]
        }
        for outcome in outcomes { #expect(try outcome.get() == [true, false]) }
    }

    @Test(arguments: [1, 2, 3, 5, 8])
    func noRankLeavesABarrierBeforeEveryRankEnteredIt(ranks: Int) throws {
        let arrivals = Counter()
        let outcomes = InProcessCommunicatorGroup(size: ranks).run { communicator in
            var seen: [Int] = []
            for round in 1...10 {
                arrivals.value.add(1, ordering: .sequentiallyConsistent)
                try communicator.barrier()
                seen.append(arrivals.value.load(ordering: .sequentiallyConsistent) - round * ranks)
                try communicator.barrier()
            }
            return seen
        }
        for outcome in outcomes { #expect(try outcome.get() == Array(repeating: 0, count: 10)) }
    }

    @Test func waitingForARankThatFinishedThrowsPeerExited() {
        let outcomes = InProcessCommunicatorGroup(size: 2).run { communicator in
            if communicator.rank == 0 { try communicator.barrier() }
        }
        #expect(throws: CollectiveError.peerExited(rank: 0, peer: 1)) { try outcomes[0].get() }
        #expect(throws: Never.self) { try outcomes[1].get() }
    }

    @Test func anAbortEndsEveryRanksWaitWithTheAbortingRankAndCode() {
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            if communicator.rank == 2 { communicator.abort(code: 3) }
            var values: [Float] = [1, 2]
            try values.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
        }
        for outcome in outcomes {
            #expect(throws: CollectiveError.aborted(rank: 2, code: 3)) { try outcome.get() }
        }
    }

    @Test func ranksWaitingOnEachOtherTimeOut() {
        let outcomes = InProcessCommunicatorGroup(size: 2, timeout: .milliseconds(200)).run { communicator in
            var byte: [UInt8] = [0]
            try byte.withUnsafeMutableBytes { try communicator.broadcast($0, root: 1 - communicator.rank) }
        }
        // The first rank to time out leaves, so the other may see it finished instead.
        let errors = outcomes.map { outcome -> CollectiveError? in
            guard case .failure(let error) = outcome else { return nil }
            return error as? CollectiveError
        }
        for (rank, error) in errors.enumerated() {
            let peer = 1 - rank
            #expect(error == .timedOut(rank: rank, peer: peer, seconds: 0.2)
                || error == .peerExited(rank: rank, peer: peer))
        }
        #expect(errors.contains { if case .timedOut = $0 { true } else { false } })
    }

    @Test func buffersOfDifferentLengthsAreReported() {
        let outcomes = InProcessCommunicatorGroup(size: 2).run { communicator in
            var bytes = [UInt8](repeating: 1, count: communicator.rank == 0 ? 8 : 4)
            try bytes.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        }
        #expect(throws: Never.self) { try outcomes[0].get() }
        #expect(throws: CollectiveError.messageLengthMismatch(rank: 1, peer: 0, expectedBytes: 4, receivedBytes: 8)) {
            try outcomes[1].get()
        }
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
