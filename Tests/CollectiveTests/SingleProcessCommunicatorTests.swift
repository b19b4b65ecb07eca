// A world of one: every collective leaves its buffer as it is.

import Collective
import Testing

@Suite struct SingleProcessCommunicatorTests {
    @Test func everyCollectiveLeavesTheBufferUnchanged() throws {
        let communicator = SingleProcessCommunicator()
        #expect(communicator.rank == 0 && communicator.size == 1)
        var floats = RankSeededData.floats(rank: 0, count: 7)
        let before = floats
        floats.withUnsafeMutableBufferPointer { communicator.allreduceSum($0) }
        #expect(RankSeededData.bits(floats) == RankSeededData.bits(before))
        var flags: [Int64] = [3, -4]
        flags.withUnsafeMutableBufferPointer { communicator.allreduceMax($0) }
        flags.withUnsafeMutableBufferPointer { communicator.allreduceMin($0) }
        #expect(flags == [3, -4])
        var bytes: [UInt8] = [9, 8, 7]
        bytes.withUnsafeMutableBytes { communicator.broadcast($0, root: 0) }
        #expect(bytes == [9, 8, 7])
        communicator.barrier()
        #expect(try communicator.allreduceSum(2.5) == 2.5)
        #expect(try communicator.anyRank(true))
        #expect(communicator.supportsDeterministicReduction)
    }
}
