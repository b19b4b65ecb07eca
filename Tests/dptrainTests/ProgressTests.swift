// Progress rendering: given values, exact text; the view draws a live line at
// most 10 times a second on a terminal and timestamped lines elsewhere.

import Foundation
import Testing
@testable import dptrain

@Suite struct ProgressTests {
    static let status = StepStatus(
        epoch: 3, epochs: 30, step: 234, steps: 468, loss: 0.41234, accuracy: 0.852149, samplesPerSecond: 12345.4,
        learningRate: 0.001, eta: 125)

    @Test func liveLineShowsBarStepFiguresAndETA() {
        #expect(ProgressView.liveLine(Self.status, width: 200)
            == "epoch 3/30 [██████████          ] 234/468  loss 0.4123  acc 85.21%  12345 samples/s  lr 0.001  ETA 2:05")
    }

    @Test func liveLineNeverWraps() {
        let line = ProgressView.liveLine(Self.status, width: 40)
        #expect(line == "epoch 3/30 [██████████          ] 234/4")
        #expect(line.count == 39)
    }

    @Test func regressionHasNoAccuracyAndUnknownETAIsDashes() {
        var status = Self.status
        status.accuracy = nil
        status.eta = nil
        status.learningRate = 2.4688e-6
        #expect(ProgressView.plainLine(status)
            == "epoch 3/30 step 234/468  loss 0.4123  12345 samples/s  lr 2.47e-06  ETA -:--")
    }

    @Test(arguments: [
        (0.0, "[          ]"), (1.0, "[██████████]"), (0.5, "[█████     ]"), (0.0625, "[▋         ]"),
        (0.99, "[█████████▉]"), (1.5, "[██████████]"), (-1.0, "[          ]"), (Double.nan, "[          ]"),
    ])
    func barFillsEighthsOfACell(fraction: Double, bar: String) {
        #expect("[" + ProgressView.bar(fraction: fraction, width: 10) + "]" == bar)
    }

    @Test(arguments: [(0.0, "0:00"), (5.4, "0:05"), (125, "2:05"), (3599.6, "1:00:00"), (3723, "1:02:03"), (-3, "0:00")])
    func durationIsMinutesSecondsOrHours(seconds: Double, text: String) {
        #expect(ProgressView.duration(seconds) == text)
    }

    @Test func etaScalesTheElapsedTime() {
        #expect(ProgressView.eta(elapsed: 10, done: 4, remaining: 6) == 15)
        #expect(ProgressView.eta(elapsed: 10, done: 0, remaining: 6) == nil)
    }

    @Test func timestampIsISO8601UTC() {
        let date = Date(timeIntervalSince1970: 1_740_837_727.9)  // 2025-03-01 14:02:07.9 UTC
        #expect(ProgressView.timestamp(date) == "2025-03-01T14:02:07Z")
        #expect(ProgressView.timestamped("epoch 1/2", at: date) == "2025-03-01T14:02:07Z epoch 1/2")
    }

    /// A view on a fake clock that records what it writes.
    final class Recorder {
        var time = 0.0
        var output: [String] = []
        func view(isTerminal: Bool, epochs: Int = 2, steps: Int = 4) -> ProgressView {
            ProgressView(
                isTerminal: isTerminal, epochs: epochs, stepsPerEpoch: steps, plainInterval: 60,
                clock: { self.time }, now: { Date(timeIntervalSince1970: 1_740_837_600 + self.time) },
                write: { self.output.append($0) }, columns: { 200 })
        }
    }

    @Test func terminalRedrawsAtMostTenTimesASecondAndEndsEachEpochWithItsLine() {
        let recorder = Recorder()
        let view = recorder.view(isTerminal: true)
        for (step, time) in [(1, 0.0), (2, 0.05), (3, 0.2), (4, 0.22)] {
            recorder.time = time
            view.step(epoch: 1, step: step, loss: 0.5, accuracy: nil, samplesPerSecond: 1000, learningRate: 0.1)
        }
        view.epochEnd(line: "epoch 1/2  train loss 0.5000")
        view.message("done")
        #expect(recorder.output == [
            "\repoch 1/2 [█████               ] 1/4  loss 0.5000  1000 samples/s  lr 0.1  ETA -:--\u{1B}[K",
            "\repoch 1/2 [███████████████     ] 3/4  loss 0.5000  1000 samples/s  lr 0.1  ETA 0:01\u{1B}[K",
            "\repoch 1/2 [████████████████████] 4/4  loss 0.5000  1000 samples/s  lr 0.1  ETA 0:00\u{1B}[K",
            "\repoch 1/2  train loss 0.5000\u{1B}[K\n",
            "done\n",
        ])
    }

    @Test func logsGetTimestampedLinesAndAStepLineOnlyAfterAMinuteWithoutOne() {
        let recorder = Recorder()
        let view = recorder.view(isTerminal: false)
        for (step, time) in [(1, 0.0), (2, 30.0), (3, 61.0), (4, 130.0)] {
            recorder.time = time
            view.step(epoch: 1, step: step, loss: 0.25, accuracy: 0.5, samplesPerSecond: 10, learningRate: 0.01)
        }
        view.epochEnd(line: "epoch 1/2  train loss 0.2500")
        for (step, time) in [(1, 131.0), (2, 150.0), (3, 191.0), (4, 200.0)] {
            recorder.time = time
            view.step(epoch: 2, step: step, loss: 0.125, accuracy: nil, samplesPerSecond: 10, learningRate: 0.01)
        }
        view.epochEnd(line: "epoch 2/2  train loss 0.1250")
        #expect(recorder.output == [
            "2025-03-01T14:01:01Z epoch 1/2 step 3/4  loss 0.2500  acc 50.00%  10 samples/s  lr 0.01  ETA 2:33\n",
            "2025-03-01T14:02:10Z epoch 1/2  train loss 0.2500\n",
            "2025-03-01T14:03:11Z epoch 2/2 step 3/4  loss 0.1250  10 samples/s  lr 0.01  ETA 0:32\n",
            "2025-03-01T14:03:20Z epoch 2/2  train loss 0.1250\n",
        ])
    }
}
