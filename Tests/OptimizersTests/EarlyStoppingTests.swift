// EarlyStopping: Keras' rule over hand-worked sequences (patience, min_delta, both
// modes), the best epoch it tracks, validation messages and a JSON round trip.

import Foundation
import Optimizers
import Testing

@Suite struct EarlyStoppingTests {
    /// The decisions for `metrics` observed at epochs 0, 1, ...
    func decisions(_ rule: inout EarlyStopping, _ metrics: [Double]) -> [EarlyStopping.Decision] {
        metrics.enumerated().map { epoch, metric in rule.observe(metric: metric, epoch: epoch) }
    }

    @Test func minDeltaAndPatienceOnALoss() {
        var rule = EarlyStopping(patience: 2, minDelta: 0.01, mode: .minimize)
        // e0 best 1.0; e1 0.995 is within min_delta: bad 1; e2 0.98 improves by 0.02: best;
        // e3 0.975 within min_delta: bad 1; e4 bad 2 = patience: stop.
        #expect(
            decisions(&rule, [1.0, 0.995, 0.98, 0.975, 0.99]) == [.continue, .continue, .continue, .continue, .stop])
        #expect(rule.best == 0.98)
        #expect(rule.bestEpoch == 2)
        #expect(rule.badEpochs == 2)
    }

    @Test func patienceZeroStopsAtTheFirstEpochWithoutImprovement() {
        var rule = EarlyStopping(patience: 0, mode: .maximize)
        #expect(decisions(&rule, [0.5, 0.6, 0.6]) == [.continue, .continue, .stop])
        #expect(rule.bestEpoch == 1)
    }

    @Test func improvementResetsTheCount() {
        var rule = EarlyStopping(patience: 3, mode: .maximize)
        let metrics = [0.70, 0.69, 0.68, 0.71, 0.70, 0.70, 0.72, 0.71, 0.70, 0.69]
        let expected: [EarlyStopping.Decision] = [
            .continue, .continue, .continue, .continue, .continue, .continue, .continue, .continue, .continue, .stop,
        ]
        #expect(decisions(&rule, metrics) == expected)
        #expect(rule.best == 0.72)
        #expect(rule.bestEpoch == 6)
    }

    @Test func nonFiniteMetricNeverImproves() {
        var rule = EarlyStopping(patience: 2)
        #expect(decisions(&rule, [.nan, 1.0, .nan, .infinity]) == [.continue, .continue, .continue, .stop])
        #expect(rule.best == 1.0)
        #expect(rule.bestEpoch == 1)
    }

    @Test func stateSurvivesAJSONRoundTrip() throws {
        var rule = EarlyStopping(patience: 2, minDelta: 0.001)
        _ = decisions(&rule, [0.9, 0.8, 0.85])
        let decoded = try JSONDecoder().decode(EarlyStopping.self, from: JSONEncoder().encode(rule))
        #expect(decoded == rule)
        var resumed = decoded
        #expect(resumed.observe(metric: 0.86, epoch: 3) == .stop)
        #expect(resumed.bestEpoch == 1)
    }

    @Test(arguments: [
        (EarlyStopping(patience: -1), "early-stopping patience must be >= 0, got -1"),
        (EarlyStopping(patience: 3, minDelta: -0.01), "early-stopping minDelta must be finite and >= 0, got -0.01"),
        (EarlyStopping(patience: 3, minDelta: .infinity), "early-stopping minDelta must be finite and >= 0, got inf"),
    ])
    func invalidSettingGivesOneLineMessage(rule: EarlyStopping, expected: String) {
        #expect(hyperparameterMessage { try rule.validate() } == expected)
    }
}
