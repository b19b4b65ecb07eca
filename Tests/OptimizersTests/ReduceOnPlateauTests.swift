// ReduceOnPlateau against a hand-worked sequence and against PyTorch's
// ReduceLROnPlateau.step as written there (ReferencePlateau): patience, cooldown,
// threshold, min_lr, both modes, and a JSON round trip of the state mid-run.

import Foundation
import Optimizers
import Testing

@Suite struct ReduceOnPlateauTests {
    /// The rate after each observation of `metrics`.
    func rates(_ rule: ReduceOnPlateau, start: Double, metrics: [Double]) -> [Double] {
        var state = rule.initialState(learningRate: start)
        return metrics.map { metric in
            rule.observe(metric: metric, state: &state)
            return state.learningRate
        }
    }

    @Test func handWorkedSequenceWithPatienceCooldownAndMinimum() {
        // Mode min, factor 0.5, patience 2, relative threshold 1e-4, cooldown 1, min_lr 0.02.
        let rule = ReduceOnPlateau(factor: 0.5, patience: 2, threshold: 1e-4, cooldown: 1, minimumLearningRate: 0.02)
        let metrics = [
            1.0,  // e0: first metric is the best; bad 0
            0.9,  // e1: 0.9 < 1.0·0.9999: best 0.9
            0.9,  // e2: not below 0.9·0.9999: bad 1
            0.95,  // e3: bad 2
            0.91,  // e4: bad 3 > 2: lr 0.05, cooldown 1
            0.9,  // e5: bad 1, cooldown ends and clears it
            0.89,  // e6: best 0.89
            0.95, 0.96,  // e7, e8: bad 1, 2
            0.97,  // e9: bad 3: lr 0.025, cooldown 1
            0.98,  // e10: in cooldown, bad cleared
            0.99, 1.0,  // e11, e12: bad 1, 2
            1.0,  // e13: bad 3: max(0.0125, 0.02) = 0.02
            1.0, 1.0, 1.0,  // e14 cooldown; e15, e16 bad 1, 2
            1.0,  // e17: bad 3: max(0.01, 0.02) = 0.02 is no reduction; stays
        ]
        let expected = [
            0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02, 0.02,
        ]
        #expect(rates(rule, start: 0.1, metrics: metrics) == expected)
    }

    @Test func patienceZeroReducesAtTheFirstWorseEpochAsPyTorchDocuments() {
        let rule = ReduceOnPlateau(factor: 0.1, patience: 0)
        #expect(rates(rule, start: 1, metrics: [2.0, 3.0, 1.5, 1.5]) == [1, 0.1, 0.1, 0.1 * 0.1])
    }

    @Test func improvementMustBeatTheRelativeThreshold() {
        // Max mode, threshold 1 %: 0.505 is not above 0.5·1.01 = 0.505, 0.5051 is.
        let rule = ReduceOnPlateau(mode: .maximize, threshold: 0.01)
        var state = rule.initialState(learningRate: 0.1)
        rule.observe(metric: 0.5, state: &state)
        rule.observe(metric: 0.505, state: &state)
        #expect(state.best == 0.5 && state.badEpochs == 1)
        rule.observe(metric: 0.5051, state: &state)
        #expect(state.best == 0.5051 && state.badEpochs == 0)
    }

    @Test func nonFiniteMetricsAreBadEpochs() {
        let rule = ReduceOnPlateau(patience: 1)
        var state = rule.initialState(learningRate: 0.1)
        rule.observe(metric: .nan, state: &state)
        #expect(state.best == nil && state.badEpochs == 1)
        rule.observe(metric: -.infinity, state: &state)
        #expect(state.best == nil && state.learningRate == 0.1 * 0.1)
        rule.observe(metric: 2, state: &state)
        #expect(state.best == 2)
    }

    @Test(arguments: [
        ReduceOnPlateau(
            mode: .minimize, factor: 0.5, patience: 2, threshold: 1e-4, cooldown: 0, minimumLearningRate: 0),
        ReduceOnPlateau(
            mode: .minimize, factor: 0.3, patience: 1, threshold: 0.01, cooldown: 2, minimumLearningRate: 1e-3),
        ReduceOnPlateau(
            mode: .maximize, factor: 0.1, patience: 0, threshold: 1e-3, cooldown: 1, minimumLearningRate: 1e-4),
        ReduceOnPlateau(
            mode: .maximize, factor: 0.7, patience: 3, threshold: 0, cooldown: 0, minimumLearningRate: 0.05),
    ])
    func longSequenceMatchesPyTorch(rule: ReduceOnPlateau) {
        // A noisy metric that improves, stalls, and improves again.
        let metrics = (0..<80).map { epoch -> Double in
            let trend =
                rule.mode == .minimize ? 2 / (1 + 0.1 * Double(min(epoch, 30))) : 0.5 + 0.01 * Double(min(epoch, 30))
            return trend + 0.03 * sin(1.7 * Double(epoch))
        }
        var reference = ReferencePlateau(rule, lr: 0.2)
        let expected = metrics.map { metric -> Double in
            reference.step(metric)
            return reference.lr
        }
        #expect(rates(rule, start: 0.2, metrics: metrics) == expected)
        #expect(Set(expected).count >= 3)
    }

    @Test func stateSurvivesAJSONRoundTripMidRun() throws {
        let rule = ReduceOnPlateau(factor: 0.5, patience: 1, cooldown: 2, minimumLearningRate: 0.001)
        let metrics = [1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8, 0.81]
        var straight = rule.initialState(learningRate: 0.1)
        var straightRates: [Double] = []
        for metric in metrics {
            rule.observe(metric: metric, state: &straight)
            straightRates.append(straight.learningRate)
        }
        var first = rule.initialState(learningRate: 0.1)
        var resumedRates: [Double] = []
        for metric in metrics[..<5] {
            rule.observe(metric: metric, state: &first)
            resumedRates.append(first.learningRate)
        }
        var resumed = try JSONDecoder().decode(ReduceOnPlateau.State.self, from: JSONEncoder().encode(first))
        #expect(resumed == first)
        for metric in metrics[5...] {
            rule.observe(metric: metric, state: &resumed)
            resumedRates.append(resumed.learningRate)
        }
        #expect(resumedRates == straightRates)
        #expect(resumed == straight)
    }

    @Test func initialStateHasNoBestYetAndEncodes() throws {
        let state = ReduceOnPlateau().initialState(learningRate: 0.01)
        #expect(state == ReduceOnPlateau.State(learningRate: 0.01, best: nil, badEpochs: 0, cooldownCounter: 0))
        // PyTorch starts best at ±inf, which JSON cannot hold; nil encodes.
        _ = try JSONEncoder().encode(state)
    }
}
