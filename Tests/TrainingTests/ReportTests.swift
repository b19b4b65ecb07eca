// report.html: the page is self-contained (no script, no external resource),
// holds the expected charts and series, escapes every text from the run, and
// is written atomically. How it looks is checked by eye in Chromium:
//   DPTRAIN_REPORT_SAMPLE=/tmp/report.html swift test --filter ReportTests
//   chromium --headless --no-sandbox --disable-gpu --screenshot=/tmp/report.png \
//     --window-size=1200,1600 file:///tmp/report.html

import Foundation
import Testing
@testable import Training

@Suite struct ReportTests {
    static let fashionNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// A 20-epoch classification run with validation, a cosine schedule, gradient health and a confusion matrix.
    static func sample() -> ReportData {
        let epochs = (1...20).map { epoch -> EpochPoint in
            let t = Double(epoch)
            return EpochPoint(
                epoch: epoch, trainLoss: 0.25 + 0.5 * exp(-t / 4), trainAccuracy: 0.91 - 0.2 * exp(-t / 4),
                validationLoss: 0.3 + 0.45 * exp(-t / 4) + 0.002 * t, validationAccuracy: 0.89 - 0.19 * exp(-t / 4),
                testLoss: 0.31 + 0.45 * exp(-t / 4) + 0.002 * t, testAccuracy: 0.885 - 0.19 * exp(-t / 4),
                learningRate: 0.0005 * (1 + cos(Double.pi * t / 20)), samplesPerSecond: 41_000 + 500 * sin(t))
        }
        var health: [HealthPoint] = []
        for step in stride(from: 10, through: 9360, by: 40) {
            for layer in 0..<3 {
                let scale = [0.8, 0.3, 0.05][layer]
                health.append(HealthPoint(step: step, layer: layer, gradientNorm: scale * (0.2 + 2 / sqrt(Double(step)))))
            }
        }
        var actual: [Int] = [], predicted: [Int] = []
        for truth in 0..<10 {
            for row in 0..<1000 {
                actual.append(truth)
                let confusedWith = [6, 3, 4, 0, 2, 7, 0, 9, 6, 7][truth]
                let errorRate = [120, 20, 150, 90, 140, 30, 300, 40, 20, 40][truth]
                predicted.append(row < errorRate ? (row % 3 == 0 ? (truth + 1) % 10 : confusedWith) : truth)
            }
        }
        return ReportData(
            title: "dptrain: 784-256:relu-128:relu-10:softmax on fashion-mnist",
            facts: [
                .init("model", "784-256:relu-128:relu-10:softmax (235,146 parameters)"),
                .init("optimizer", "adamw, lr 0.001, cosine, weight decay 0.05"),
                .init("batch", "128 (micro-batch 64 × 2), 2 ranks × 2 threads"),
                .init("sha256", "5d41402abc4b2a76b9719d911017c592a1c4d5e6f708192a3b4c5d6e7f809112"),
            ],
            epochs: epochs, health: health,
            classification: ClassificationMetrics(classCount: 10, actual: actual, predicted: predicted),
            classNames: fashionNames)
    }

    @Test func pageIsSelfContained() {
        let page = RunReport.html(Self.sample())
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.hasSuffix("</html>\n"))
        for forbidden in ["<script", "src=", "href=", "url(", "@import", "http://", "https://"] {
            let outsideSVGNamespace = page.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
            #expect(!outsideSVGNamespace.contains(forbidden), "the page must not contain \(forbidden)")
        }
    }

    @Test func pageHasEveryChartAndSeries() {
        let page = RunReport.html(Self.sample())
        for title in ["Loss", "Accuracy", "Learning rate", "Gradient norm per layer", "Throughput"] {
            #expect(page.contains("aria-label=\"\(title)\""), "chart \(title)")
        }
        #expect(page.components(separatedBy: "<svg class=\"chart\"").count - 1 == 5)
        for series in ["train", "validation", "test", "learning rate", "layer 0", "layer 1", "layer 2"] {
            #expect(page.contains("data-series=\"\(series)\""), "series \(series)")
        }
        #expect(page.contains("<polyline points=\""))
        #expect(page.contains(">10⁻¹<"), "the gradient axis is labelled in decades")
        #expect(page.contains("Final epoch 20: train loss"))
        #expect(!page.contains("--health-every"))
    }

    @Test func confusionMatrixIsATableWithMargins() {
        let page = RunReport.html(Self.sample())
        #expect(page.contains("<table class=\"confusion\">"))
        #expect(page.components(separatedBy: "<td class=\"hit\"").count - 1 == 10)
        #expect(page.components(separatedBy: "<td class=\"miss\"").count - 1 == 90)
        #expect(page.contains("<th class=\"predicted\">T-shirt/top</th>"))
        #expect(page.contains("title=\"true Shirt, predicted T-shirt/top: 200 (20.0% of the class)\">200</td>"))
        #expect(page.contains("accuracy 90.5%"))
    }

    @Test func runTextIsEscaped() {
        var data = ReportData(
            title: "<script>alert('x')</script> & \"co\"", facts: [.init("a<b", "c>d")],
            epochs: [EpochPoint(epoch: 1, trainLoss: 1, learningRate: 0.1)],
            classification: ClassificationMetrics(classCount: 2, actual: [0, 1], predicted: [0, 1]), classNames: ["<i>", "&"])
        let page = RunReport.html(data)
        #expect(!page.contains("<script>"))
        #expect(!page.contains("<i>"))
        #expect(page.contains("<h1>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;</h1>"))
        #expect(page.contains("<dt>a&lt;b</dt><dd>c&gt;d</dd>"))
        #expect(page.contains("<th class=\"predicted\">&amp;</th>"))
        data.classNames = nil
        #expect(RunReport.html(data).contains("<th class=\"predicted\">1</th>"))
    }

    @Test func regressionRunsHaveNoAccuracyChartAndNoMatrix() {
        let data = ReportData(
            title: "sine",
            epochs: (1...5).map { EpochPoint(epoch: $0, trainLoss: 1 / Double($0 * $0 * $0), testLoss: 2 / Double($0 * $0 * $0), learningRate: 0.01) })
        let page = RunReport.html(data)
        #expect(!page.contains("aria-label=\"Accuracy\""))
        #expect(!page.contains("<table"))
        #expect(page.contains("--health-every N"))
        #expect(RunReport.charts(data)[0].logarithmic, "a loss spanning more than 50× is drawn on a log axis")
    }

    @Test func nonFiniteValuesBreakTheLine() {
        let chart = LineChart(
            title: "t", xLabel: "epoch", yLabel: "loss",
            series: [ChartSeries(name: "s", color: "#000", points: [(1, 1), (2, 2), (3, .nan), (4, 1), (5, 3)])])
        #expect(chart.svg().components(separatedBy: "<polyline").count - 1 == 2)
        let empty = LineChart(title: "t", xLabel: "x", yLabel: "y", series: [ChartSeries(name: "s", color: "#000", points: [(1, .infinity)])])
        #expect(empty.svg().contains(">no data</text>"))
    }

    @Test(arguments: [
        (0.0, 1.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2], 1), (0.23, 0.91, [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], 1),
        (41_000.0, 42_000.0, [40_800, 41_000, 41_200, 41_400, 41_600, 41_800, 42_000, 42_200], 0),
        (3.0, 3.0, [2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 3.3], 1), (0.0, 0.001, [0, 0.0002, 0.0004, 0.0006, 0.0008, 0.001, 0.0012], 4),
    ])
    func linearTicksAreNiceWithRoom(low: Double, high: Double, values: [Double], decimals: Int) {
        let ticks = Ticks.linear(low, high)
        #expect(ticks.values.count == values.count)
        for (tick, want) in zip(ticks.values, values) { #expect(abs(tick - want) < 1e-9) }
        #expect(ticks.decimals == decimals)
    }

    @Test func logTicksAreDecades() {
        let ticks = Ticks.decades(0.003, 0.8)
        #expect(ticks.values.map { Ticks.powerOfTen($0) } == ["10⁻³", "10⁻²", "10⁻¹", "10⁰"])
        #expect(Ticks.integer(1, 3).values == [1, 2, 3])
        #expect(Ticks.integer(1, 1).values == [0, 1, 2], "a single epoch sits in the middle")
        #expect(Ticks.integer(1, 20).values == [0, 5, 10, 15, 20])
        #expect(Ticks.integer(10, 9360).values == [0, 2000, 4000, 6000, 8000, 10000])
    }

    @Test func reportIsWrittenAtomically() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dptrain-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("report.html").path
        try RunReport.write(Self.sample(), to: path)
        try RunReport.write(Self.sample(), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == RunReport.html(Self.sample()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["report.html"])
        #expect(throws: ReportError.self) { try RunReport.write(Self.sample(), to: "/nonexistent/dir/report.html") }
        if let sample = ProcessInfo.processInfo.environment["DPTRAIN_REPORT_SAMPLE"] {
            try RunReport.write(Self.sample(), to: sample)
        }
    }
}
