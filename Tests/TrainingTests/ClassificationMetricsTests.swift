// Confusion matrix, precision, recall, F1 and accuracy against a hand-computed
// example; undefined ratios stay nil; the counts do not depend on row order.

import Testing
@testable import Training

@Suite struct ClassificationMetricsTests {
    // Rows of classes 0, 1, 2 and what a model predicted for them.
    static let actual = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    static let predicted = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1]

    @Test func confusionMatrixCountsTrueRowsAgainstPredictedColumns() {
        let metrics = ClassificationMetrics(classCount: 3, actual: Self.actual, predicted: Self.predicted)
        #expect(metrics.confusion == [[2, 1, 1], [1, 2, 0], [0, 1, 2]])
        #expect(metrics.total == 10)
        #expect(metrics.correct == 6)
        #expect(metrics.accuracy == 0.6)
    }

    @Test func precisionRecallAndF1MatchTheHandComputedValues() {
        let metrics = ClassificationMetrics(classCount: 3, actual: Self.actual, predicted: Self.predicted)
        // Column sums 3, 4, 3; row sums 4, 3, 3; diagonal 2, 2, 2.
        let expected: [(precision: Double, recall: Double, f1: Double, support: Int)] = [
            (2.0 / 3, 2.0 / 4, 4.0 / 7, 4), (2.0 / 4, 2.0 / 3, 4.0 / 7, 3), (2.0 / 3, 2.0 / 3, 2.0 / 3, 3),
        ]
        for (figures, want) in zip(metrics.perClass, expected) {
            #expect(abs((figures.precision ?? -1) - want.precision) < 1e-12)
            #expect(abs((figures.recall ?? -1) - want.recall) < 1e-12)
            #expect(abs((figures.f1 ?? -1) - want.f1) < 1e-12)
            #expect(figures.support == want.support)
        }
        #expect(abs((metrics.macroPrecision ?? -1) - 11.0 / 18) < 1e-12)
        #expect(abs((metrics.macroRecall ?? -1) - 11.0 / 18) < 1e-12)
    }

    @Test func ratiosWithoutRowsAreUndefined() {
        let metrics = ClassificationMetrics(classCount: 3, actual: [0, 1], predicted: [0, 0])
        #expect(metrics.precision(of: 0) == 0.5)
        #expect(metrics.recall(of: 0) == 1)
        #expect(metrics.precision(of: 1) == nil)  // never predicted
        #expect(metrics.recall(of: 1) == 0)
        #expect(metrics.perClass[1].f1 == nil)
        #expect(metrics.precision(of: 2) == nil)  // neither present nor predicted
        #expect(metrics.recall(of: 2) == nil)
        #expect(ClassificationMetrics(classCount: 2).accuracy == nil)
    }

    @Test func rowOrderAndSplittingDoNotChangeTheCounts() {
        let whole = ClassificationMetrics(classCount: 3, actual: Self.actual, predicted: Self.predicted)
        let reversed = ClassificationMetrics(
            classCount: 3, actual: Self.actual.reversed(), predicted: Self.predicted.reversed())
        var merged = ClassificationMetrics(
            classCount: 3, actual: Array(Self.actual[..<5]), predicted: Array(Self.predicted[..<5]))
        merged.merge(ClassificationMetrics(
            classCount: 3, actual: Array(Self.actual[5...]), predicted: Array(Self.predicted[5...])))
        #expect(reversed == whole)
        #expect(merged == whole)
    }

    @Test(arguments: [
        ([0.1, 2.5, -1.0], 1), ([3.0, 3.0, 1.0], 0), ([-1.0, -2.0], 0), ([0.25], 1), ([-0.25], 0), ([0.0], 0),
        ([Float.nan, 1.0, 2.0], 0), ([0.0, Float.nan, 1.0], 2),
    ] as [([Float], Int)])
    func predictedClassIsTheFirstLargestScore(scores: [Float], predicted: Int) {
        #expect(scores.withUnsafeBufferPointer { ClassificationMetrics.predictedClass(scores: $0) } == predicted)
    }
}
