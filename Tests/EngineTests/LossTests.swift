// Loss kernels: finite values and gradients at extreme logits, and the per-row
// loss, accuracy and gradient on hand-computed rows.

import Engine
import Testing

/// One call of `Loss.evaluate` on a handful of rows, with its outputs as arrays.
struct LossEvaluation {
    var loss: [Float]
    var correct: [Float]
    var gradient: [Float]

    init(_ lossFunction: Loss, logits: [Float], columns: Int, labels: [Int32] = [], targets: [Float] = [], scale: Float) {
        let rows = logits.count / columns
        let z = FloatBuffer(logits)
        let g = FloatBuffer(count: logits.count)
        g.fill(.nan)
        let rowLoss = FloatBuffer(count: rows)
        let rowCorrect = FloatBuffer(count: rows)
        let t = FloatBuffer(targets)
        let pool = ThreadPool(threadCount: 1)
        defer { pool.shutdown() }
        labels.withUnsafeBufferPointer { labelPointer in
            let lossTargets: LossTargets = lossFunction.usesClassLabels
                ? .labels(labelPointer.baseAddress!)
                : .values(Matrix(t, rows: rows, columns: columns))
            lossFunction.evaluate(
                logits: Matrix(z, rows: rows, columns: columns), targets: lossTargets, scale: scale,
                gradient: Matrix(g, rows: rows, columns: columns), rowLoss: rowLoss.pointer, rowCorrect: rowCorrect.pointer,
                pool: pool)
        }
        loss = rowLoss.array
        correct = rowCorrect.array
        gradient = g.array
    }
}

@Suite("Loss")
struct LossTests {
    @Test("cross-entropy stays finite and exact for logits 1000, 0, -1000", arguments: [Int32(0), 1, 2])
    func crossEntropyIsFiniteForHugeLogits(label: Int32) {
        let result = LossEvaluation(.crossEntropy, logits: [1000, 0, -1000], columns: 3, labels: [label], scale: 0.5)
        #expect(result.loss == [[0, 1000, 2000][Int(label)]])
        var expectedGradient: [Float] = [0.5, 0, 0]
        expectedGradient[Int(label)] -= 0.5
        #expect(result.gradient == expectedGradient)
        #expect(result.correct == [label == 0 ? 1 : 0])
    }

    @Test("binary cross-entropy stays finite for |z| = 100", arguments: [
        (Float(100), Float(1), Float(0)), (100, 0, 100), (-100, 1, 100), (-100, 0, 0),
    ])
    func binaryCrossEntropyIsFiniteForLargeLogits(logit: Float, target: Float, expectedLoss: Float) {
        let result = LossEvaluation(.binaryCrossEntropy, logits: [logit], columns: 1, targets: [target], scale: 1)
        #expect(result.loss[0].isFinite && result.gradient[0].isFinite)
        #expect(abs(result.loss[0] - expectedLoss) <= 1e-5)
        // dℓ/dz = σ(z) − t, which is 0 or ±1 to Float precision here.
        #expect(abs(result.gradient[0] - ((logit > 0 ? 1 : 0) - target)) <= 1e-6)
    }

    @Test("regression losses on one row match their definitions")
    func regressionLossesMatchDefinitions() {
        // d = z − t = [0.3, −2, 1]
        let logits: [Float] = [1.3, -1, 4]
        let targets: [Float] = [1, 1, 3]
        let d: [Float] = [0.3, -2, 1]
        func check(_ loss: Loss, value: (Float) -> Float, slope: (Float) -> Float) {
            let result = LossEvaluation(loss, logits: logits, columns: 3, targets: targets, scale: 0.25)
            let expected = d.map(value).reduce(0, +) / 3
            #expect(abs(result.loss[0] - expected) <= 1e-5, "\(loss.name)")
            for j in 0..<3 {
                #expect(abs(result.gradient[j] - 0.25 / 3 * slope(d[j])) <= 1e-6, "\(loss.name) column \(j)")
            }
            #expect(result.correct == [0], "\(loss.name) has no accuracy")
        }
        check(.meanSquaredError, value: { $0 * $0 }, slope: { 2 * $0 })
        check(.meanAbsoluteError, value: { abs($0) }, slope: { $0 > 0 ? 1 : -1 })
        check(.huber(delta: 0.5), value: { abs($0) < 0.5 ? 0.5 * $0 * $0 : 0.5 * (abs($0) - 0.25) },
              slope: { abs($0) < 0.5 ? $0 : ($0 > 0 ? 0.5 : -0.5) })
        check(.smoothL1(beta: 0.5), value: { abs($0) < 0.5 ? $0 * $0 : abs($0) - 0.25 },
              slope: { abs($0) < 0.5 ? 2 * $0 : ($0 > 0 ? 1 : -1) })
    }

    @Test("binary hinge takes ±1 targets, treats 0 as −1, and counts correct signs")
    func binaryHingeOnOneRow() {
        let result = LossEvaluation(.hinge, logits: [0.4, -2, 1.5, 0.2], columns: 4, targets: [1, 0, -1, -1], scale: 1)
        // margins 1 − y·z: 0.6, −1, 2.5, 1.2
        #expect(abs(result.loss[0] - (0.6 + 0 + 2.5 + 1.2) / 4) <= 1e-6)
        #expect(result.gradient == [-0.25, 0, 0.25, 0.25])
        #expect(result.correct == [0.5])
    }

    @Test("multiclass hinge follows MultiMarginLoss with margin 1 divided by the class count")
    func multiclassHingeOnOneRow() {
        let result = LossEvaluation(.multiclassHinge, logits: [2, 1.5, -1, 0.5], columns: 4, labels: [0], scale: 1)
        // margins 1 − 2 + z_j for j ≠ 0: 0.5, −2, −0.5
        #expect(result.loss == [0.125])
        #expect(result.gradient == [-0.25, 0.25, 0, 0])
        #expect(result.correct == [1])
    }

    @Test("a class label outside 0..<k stops the process instead of indexing past the row", .timeLimit(.minutes(1)),
          arguments: [(Loss.crossEntropy, Int32(3)), (.crossEntropy, -1), (.multiclassHinge, 3), (.multiclassHinge, -1)])
    func outOfRangeLabelIsRejected(loss: Loss, label: Int32) async {
        await #expect(processExitsWith: .failure) { [loss, label] in
            _ = LossEvaluation(loss, logits: [1, 2, 3], columns: 3, labels: [label], scale: 1)
        }
    }

    @Test("loss names are the --loss spellings")
    func lossNames() {
        #expect([Loss.crossEntropy, .binaryCrossEntropy, .meanSquaredError, .meanAbsoluteError, .huber(delta: 1),
                 .huber(delta: 2), .smoothL1(beta: 1), .smoothL1(beta: 0.5), .hinge, .multiclassHinge].map(\.name)
                == ["cross-entropy", "bce", "mse", "mae", "huber", "huber(2.0)", "smooth-l1", "smooth-l1(0.5)", "hinge",
                    "multiclass-hinge"])
    }
}
