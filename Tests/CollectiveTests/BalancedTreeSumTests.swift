// Tests of the serial reference: it must be the balanced tree written out by
// hand, and the test data must make that order matter.

import Collective
import Testing

@Suite struct BalancedTreeSumTests {
    @Test func eightLeavesSumAsTheBalancedTreeWrittenOut() {
        let x: [Float] = [1e8, 1, -1e8, 3.3, 0.1, -7.7e7, 2.5e-3, 1e7]
        let expected = ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]))
        let sum = balancedTreeSum(x.map { [$0] })
        #expect(sum.map(\.bitPattern) == [expected.bitPattern])
    }

    @Test func anOddLastNodeIsCarriedUpUnchanged() {
        let x: [Double] = [1e17, 1, -1e17]
        #expect(balancedTreeSum(x.map { [$0] }) == [(x[0] + x[1]) + x[2]])
    }

    @Test func noBuffersSumToAnEmptyBuffer() {
        #expect(balancedTreeSum([[Float]]()) == [])
    }

    @Test(arguments: [4, 8])
    func testDataRoundsDifferentlyInTreeAndInRankOrder(ranks: Int) {
        let buffers = (0..<ranks).map { RankSeededData.floats(rank: $0, count: 1000) }
        let tree = balancedTreeSum(buffers)
        let leftToRight = (0..<1000).map { index in buffers.dropFirst().reduce(buffers[0][index]) { $0 + $1[index] } }
        let differing = zip(tree, leftToRight).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing > 100)
    }
}
