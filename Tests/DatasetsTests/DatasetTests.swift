// Tests of Dataset: gathering rows into a batch and taking subsets.

import Datasets
import Engine
import Testing

@Suite struct DatasetTests {
    /// Four rows of three features (row r holds 10r, 10r+1, 10r+2) in three classes.
    func classDataset() -> Dataset {
        Dataset(name: "toy", featureCount: 3,
                features: FloatBuffer((0..<4).flatMap { row in (0..<3).map { Float(10 * row + $0) } }),
                targets: .classes(labels: [2, 0, 1, 0], classCount: 3))
    }

    @Test func gatherCopiesTheListedRowsInOrder() {
        let dataset = classDataset()
        let rows: [Int32] = [3, 0, 3]
        let batch = FloatBuffer(count: rows.count * 3)
        var labels = [Int32](repeating: -1, count: rows.count)
        rows.withUnsafeBufferPointer { rows in
            dataset.gatherFeatures(rows: rows, into: batch.pointer)
            labels.withUnsafeMutableBufferPointer { dataset.gatherLabels(rows: rows, into: $0.baseAddress!) }
        }
        #expect(batch.array == [30, 31, 32, 0, 1, 2, 30, 31, 32])
        #expect(labels == [0, 2, 0])
    }

    @Test func subsetKeepsRowsAndClassCount() {
        let subset = classDataset().subset(rows: 0..<2)
        #expect(subset.rowCount == 2)
        #expect(subset.featureCount == 3)
        #expect(subset.name == "toy")
        #expect(subset.features.array == [0, 1, 2, 10, 11, 12])
        #expect(subset.targets.classCount == 3)
        guard case .classes(let labels, _) = subset.targets else {
            Issue.record("expected class targets")
            return
        }
        #expect(labels == [2, 0])
    }

    @Test func valueTargetsAreGatheredAndSubset() {
        let dataset = Dataset(name: "regression", featureCount: 1, features: FloatBuffer([1, 2, 3]),
                              targets: .values(FloatBuffer([0.1, 0.2, 1.1, 1.2, 2.1, 2.2]), width: 2))
        #expect(dataset.rowCount == 3)
        let rows: [Int32] = [2, 1]
        let values = FloatBuffer(count: 4)
        rows.withUnsafeBufferPointer { dataset.gatherTargetValues(rows: $0, into: values.pointer) }
        #expect(values.array == [2.1, 2.2, 1.1, 1.2])

        let subset = dataset.subset(rows: [2, 0], name: "picked")
        #expect(subset.name == "picked")
        #expect(subset.features.array == [3, 1])
        guard case .values(let buffer, let width) = subset.targets else {
            Issue.record("expected value targets")
            return
        }
        #expect(width == 2)
        #expect(buffer.array == [2.1, 2.2, 0.1, 0.2])
    }
}
