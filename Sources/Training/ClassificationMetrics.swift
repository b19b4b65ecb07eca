// Classification metrics from true and predicted classes: the confusion
// matrix C (C[i][j] = rows of true class i predicted as j), and from it
//   accuracy     = Σ_i C[i][i] / Σ C
//   precision_j  = C[j][j] / Σ_i C[i][j]   (of the rows predicted j, how many are j)
//   recall_i     = C[i][i] / Σ_j C[i][j]   (of the rows of class i, how many were found)
//   F1           = 2·precision·recall / (precision + recall)
// (scikit-learn's `confusion_matrix` and `precision_recall_fscore_support`
// conventions). A ratio with a zero denominator is undefined (nil), not 0.
// Counts are integers, so the result does not depend on the order in which
// rows are added, and matrices of several ranks or batches merge by addition.

/// A confusion matrix and the metrics derived from it.
public struct ClassificationMetrics: Sendable, Codable, Equatable {
    /// Number of classes k.
    public let classCount: Int
    /// The k×k counts: `confusion[actual][predicted]`.
    public private(set) var confusion: [[Int]]

    /// Precision, recall, F1 and support of one class.
    public struct ClassFigures: Sendable, Codable, Equatable {
        public let classIndex: Int
        /// Of the rows predicted as this class, the fraction that are; nil when none is predicted as it.
        public let precision: Double?
        /// Of the rows of this class, the fraction predicted as it; nil when it has no rows.
        public let recall: Double?
        /// Harmonic mean of precision and recall; nil when either is undefined or both are 0.
        public let f1: Double?
        /// Rows whose true class this is.
        public let support: Int
    }

    /// An empty matrix for `classCount` classes.
    public init(classCount: Int) {
        precondition(classCount >= 1, "ClassificationMetrics needs at least one class, got \(classCount)")
        self.classCount = classCount
        confusion = Array(repeating: Array(repeating: 0, count: classCount), count: classCount)
    }

    /// The matrix of paired true and predicted classes (each in 0..<classCount).
    public init(classCount: Int, actual: [Int], predicted: [Int]) {
        precondition(actual.count == predicted.count, "\(actual.count) true classes but \(predicted.count) predictions")
        self.init(classCount: classCount)
        for (truth, guess) in zip(actual, predicted) { add(actual: truth, predicted: guess) }
    }

    /// Counts one row of true class `actual` predicted as `predicted`.
    public mutating func add(actual: Int, predicted: Int) {
        precondition(
            (0..<classCount).contains(actual) && (0..<classCount).contains(predicted),
            "class out of range: actual \(actual), predicted \(predicted), \(classCount) classes")
        confusion[actual][predicted] += 1
    }

    /// Adds the counts of `other` (another rank's or batch's rows).
    public mutating func merge(_ other: ClassificationMetrics) {
        precondition(other.classCount == classCount, "merging \(other.classCount) classes into \(classCount)")
        for i in 0..<classCount {
            for j in 0..<classCount { confusion[i][j] += other.confusion[i][j] }
        }
    }

    /// Rows counted.
    public var total: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

    /// Rows predicted correctly (the diagonal).
    public var correct: Int { (0..<classCount).reduce(0) { $0 + confusion[$1][$1] } }

    /// Fraction of rows predicted correctly; nil without rows.
    public var accuracy: Double? { ratio(correct, total) }

    /// Rows whose true class is `classIndex` (its row sum).
    public func support(of classIndex: Int) -> Int { confusion[classIndex].reduce(0, +) }

    /// Rows predicted as `classIndex` (its column sum).
    public func predictedCount(of classIndex: Int) -> Int { confusion.reduce(0) { $0 + $1[classIndex] } }

    /// Precision of `classIndex`: correct predictions of it over all predictions of it.
    public func precision(of classIndex: Int) -> Double? {
        ratio(confusion[classIndex][classIndex], predictedCount(of: classIndex))
    }

    /// Recall of `classIndex`: its rows predicted as it over all its rows.
    public func recall(of classIndex: Int) -> Double? {
        ratio(confusion[classIndex][classIndex], support(of: classIndex))
    }

    /// The figures of every class, in class order.
    public var perClass: [ClassFigures] {
        (0..<classCount).map { index in
            let precision = precision(of: index), recall = recall(of: index)
            var f1: Double?
            if let precision, let recall, precision + recall > 0 { f1 = 2 * precision * recall / (precision + recall) }
            return ClassFigures(classIndex: index, precision: precision, recall: recall, f1: f1, support: support(of: index))
        }
    }

    /// Mean precision over the classes where it is defined (macro average); nil when it is nowhere.
    public var macroPrecision: Double? { mean(perClass.compactMap(\.precision)) }

    /// Mean recall over the classes that have rows (macro average); nil without rows.
    public var macroRecall: Double? { mean(perClass.compactMap(\.recall)) }

    /// The class a row of network outputs (logits) predicts: the first largest score,
    /// as the loss counts accuracy (ties and NaNs alike); for a single output
    /// (a sigmoid head), class 1 when it is > 0, i.e. probability > 0.5.
    public static func predictedClass(scores: UnsafeBufferPointer<Float>) -> Int {
        guard let first = scores.first else { return 0 }
        if scores.count == 1 { return first > 0 ? 1 : 0 }
        var best = 0
        var maximum = first
        for j in 1..<scores.count where scores[j] > maximum {
            maximum = scores[j]
            best = j
        }
        return best
    }

    private func ratio(_ numerator: Int, _ denominator: Int) -> Double? {
        denominator > 0 ? Double(numerator) / Double(denominator) : nil
    }

    private func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}
