// The deterministic sum, run on an in-process group, must give on every rank
// bitwise the serial balanced-tree sum of the ranks' buffers (DESIGN.md 3),
// for odd and tiny counts, for counts smaller than the number of ranks, and
// when messages are cut into many pieces.

import Collective
import Testing

@Suite struct DeterministicAllreduceTests {
    @Test(arguments: [1, 2, 4, 8], [0, 1, 3, 7, 1000, 1_000_003])
    func floatSumIsTheBalancedTreeOnEveryRank(ranks: Int, count: Int) throws {
        try expectFloatSumIsTree(group: InProcessCommunicatorGroup(size: ranks), count: count)
    }

    @Test(arguments: [2, 4, 8], [16, 20, 64])
    func floatSumIsTheSameWhenMessagesAreCutIntoPieces(ranks: Int, pieceBytes: Int) throws {
        let group = InProcessCommunicatorGroup(size: ranks, messagePieceBytes: pieceBytes)
        try expectFloatSumIsTree(group: group, count: 1001)
    }

    @Test(arguments: [1, 2, 4, 8], [1, 5, 33, 4099])
    func doubleSumIsTheBalancedTreeOnEveryRank(ranks: Int, count: Int) throws {
        let outcomes = InProcessCommunicatorGroup(size: ranks, messagePieceBytes: 24).run { communicator in
            var values = RankSeededData.doubles(rank: communicator.rank, count: count)
            try values.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
            return values
        }
        let expected = balancedTreeSum((0..<ranks).map { RankSeededData.doubles(rank: $0, count: count) })
        for outcome in outcomes {
            #expect(try RankSeededData.bits(outcome.get()) == RankSeededData.bits(expected))
        }
    }

    @Test func scalarDoubleSumMatchesTheTree() throws {
        let outcomes = InProcessCommunicatorGroup(size: 4).run { communicator in
            try communicator.allreduceSum([1e17, 1, -1e17, 3.3][communicator.rank])
        }
        let expected: Double = (1e17 + 1) + (-1e17 + 3.3)
        for outcome in outcomes { #expect(try outcome.get().bitPattern == expected.bitPattern) }
    }

    @Test func repeatedSumsOnOneCommunicatorStayExact() throws {
        let outcomes = InProcessCommunicatorGroup(size: 4, messagePieceBytes: 64).run { communicator in
            var results: [[Float]] = []
            for count in [100, 7, 3000, 0, 1] {
                var values = RankSeededData.floats(rank: communicator.rank, count: count)
                try values.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
                results.append(values)
            }
            return results
        }
        for outcome in outcomes {
            let results = try outcome.get()
            for (results, count) in zip(results, [100, 7, 3000, 0, 1]) {
                let expected = balancedTreeSum((0..<4).map { RankSeededData.floats(rank: $0, count: count) })
                #expect(RankSeededData.bits(results) == RankSeededData.bits(expected))
            }
        }
    }

    @Test(arguments: [3, 5, 6, 12])
    func nonPowerOfTwoWorldSizeIsRejected(ranks: Int) {
        let outcomes = InProcessCommunicatorGroup(size: ranks).run { communicator in
            var values: [Float] = [1, 2, 3]
            try values.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
        }
        for outcome in outcomes {
            #expect(throws: CollectiveError.worldSizeNotPowerOfTwo(size: ranks)) { try outcome.get() }
        }
    }

    @Test func nonPowerOfTwoMessageNamesTheSizeAndTheNearestValidOnes() {
        #expect(CollectiveError.worldSizeNotPowerOfTwo(size: 6).description
            == "the deterministic reduction needs a power-of-two number of ranks, but this job has 6; "
            + "run with 4 or 8 ranks, or choose the non-bitwise MPI reduction")
        #expect(CollectiveError.worldSizeNotPowerOfTwo(size: 3).description
            == "the deterministic reduction needs a power-of-two number of ranks, but this job has 3; "
            + "run with 2 or 4 ranks, or choose the non-bitwise MPI reduction")
    }

    private func expectFloatSumIsTree(group: InProcessCommunicatorGroup, count: Int) throws {
        let outcomes = group.run { communicator in
            var values = RankSeededData.floats(rank: communicator.rank, count: count)
            try values.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
            return values
        }
        let expected = balancedTreeSum((0..<group.size).map { RankSeededData.floats(rank: $0, count: count) })
        let expectedBits = RankSeededData.bits(expected)
        for (rank, outcome) in outcomes.enumerated() {
            let bits = RankSeededData.bits(try outcome.get())
            #expect(bits == expectedBits, "rank \(rank) of \(group.size), \(count) values")
        }
    }
}

@Suite struct ShardedReductionTests {
    /// The owned ranges of the ranks cut a buffer into disjoint pieces that
    /// cover it; after a reduce-scatter each rank's piece holds the tree sum;
    /// writing something else there and allgathering gives every rank every
    /// rank's piece.
    @Test(arguments: [1, 2, 4, 8], [0, 3, 1001])
    func reduceScatterThenAllgatherHandsOutEveryOwnedPiece(ranks: Int, count: Int) throws {
        let outcomes = InProcessCommunicatorGroup(size: ranks, messagePieceBytes: 64).run { communicator in
            var values = RankSeededData.floats(rank: communicator.rank, count: count)
            try values.withUnsafeMutableBufferPointer { try communicator.startReduceScatter($0, bucket: 0) }
            try communicator.finishSums()
            let owned = communicator.ownedRange(count: count)
            let summed = Array(values[owned])
            // Each rank replaces its piece by a value only it can know.
            for index in owned { values[index] = Float(communicator.rank * 10_000 + index) }
            try values.withUnsafeMutableBufferPointer { try communicator.startAllgather($0, bucket: 0) }
            try communicator.finishSums()
            return (owned, summed, values)
        }
        let expected = balancedTreeSum((0..<ranks).map { RankSeededData.floats(rank: $0, count: count) })
        var covered = [Int](repeating: -1, count: count)
        for (rank, outcome) in outcomes.enumerated() {
            let (owned, summed, _) = try outcome.get()
            #expect(RankSeededData.bits(summed) == RankSeededData.bits(Array(expected[owned])), "rank \(rank)")
            for index in owned {
                #expect(covered[index] == -1, "element \(index) owned twice")
                covered[index] = rank
            }
        }
        #expect(!covered.contains(-1))
        let gathered = covered.indices.map { Float(covered[$0] * 10_000 + $0) }
        for outcome in outcomes {
            #expect(try outcome.get().2 == gathered)
        }
    }
}
