// RunReport: report.html of a run — one self-contained page (inline CSS and
// SVG; no script, no network, no external file) with the loss, accuracy,
// learning-rate and throughput curves per epoch, per-layer gradient norms over
// the steps (log scale), and the test split's confusion matrix with per-class
// precision, recall and F1. Every text from the run is HTML-escaped.

import Foundation

/// A report.html that cannot be written.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .writeFailed(let path, let reason): return "cannot write the report \(path): \(reason)"
        }
    }
}

/// Renders and writes report.html.
public enum RunReport {
    /// Series colours: train, validation, test (the Tableau 10 palette, as matplotlib's default).
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// The complete HTML page for `data`.
    public static func html(_ data: ReportData) -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="dptrain">
            <title>\(Training.html(data.title))</title>
            <style>\(style)</style>
            </head><body>
            <h1>\(Training.html(data.title))</h1>

            """
        if !data.facts.isEmpty {
            page += "<dl class=\"facts\">"
            for fact in data.facts { page += "<dt>\(Training.html(fact.label))</dt><dd>\(Training.html(fact.value))</dd>" }
            page += "</dl>\n"
        }
        if let last = data.epochs.last { page += "<p class=\"summary\">\(Training.html(summary(last)))</p>\n" }
        page += "<h2>Training curves</h2>\n<div class=\"charts\">\n"
        for chart in charts(data) { page += "<figure>\(chart.svg())</figure>\n" }
        page += "</div>\n"
        if data.health.isEmpty {
            page += "<p class=\"note\">No gradient-health rows: run with --health-every N to plot per-layer gradient norms.</p>\n"
        }
        if let metrics = data.classification {
            page += "<h2>Confusion matrix (test split)</h2>\n" + confusionTable(metrics, names: data.classNames)
        }
        return page + "</body></html>\n"
    }

    /// Writes `html(data)` to `path`, replacing any earlier report atomically.
    public static func write(_ data: ReportData, to path: String) throws(ReportError) {
        let bytes = Array(html(data).utf8)
        do {
            try AtomicFile.write(to: path) { file throws(CheckpointError) in try file.append(contentsOf: bytes) }
        } catch {
            if case .writeFailed(_, let operation, let reason) = error {
                throw .writeFailed(path: path, reason: "\(operation): \(reason)")
            }
            throw .writeFailed(path: path, reason: error.description)
        }
    }

    /// "final epoch 30: train loss 0.1234, test loss 0.2345, test accuracy 90.12%".
    static func summary(_ last: EpochPoint) -> String {
        var parts = ["train loss \(fixedDecimals(last.trainLoss, 4))"]
        if let loss = last.validationLoss { parts.append("validation loss \(fixedDecimals(loss, 4))") }
        if let loss = last.testLoss { parts.append("test loss \(fixedDecimals(loss, 4))") }
        if let accuracy = last.validationAccuracy { parts.append("validation accuracy \(fixedDecimals(accuracy * 100, 2))%") }
        if let accuracy = last.testAccuracy { parts.append("test accuracy \(fixedDecimals(accuracy * 100, 2))%") }
        return "Final epoch \(last.epoch): " + parts.joined(separator: ", ")
    }

    /// The charts the data has values for, in page order.
    static func charts(_ data: ReportData) -> [LineChart] {
        let epochs = data.epochs
        func series(_ name: String, _ color: Int, _ value: (EpochPoint) -> Double?) -> ChartSeries? {
            let points = epochs.compactMap { point in value(point).map { (x: Double(point.epoch), y: $0) } }
            return points.isEmpty ? nil : ChartSeries(name: name, color: palette[color], points: points)
        }
        let losses = [
            series("train", 0, { $0.trainLoss }), series("validation", 1, { $0.validationLoss }), series("test", 2, { $0.testLoss }),
        ].compactMap { $0 }
        let lossValues = losses.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        let spread = (lossValues.max() ?? 1) / (lossValues.min() ?? 1)
        var charts = [
            LineChart(
                title: "Loss", xLabel: "epoch", yLabel: "loss", series: losses,
                logarithmic: lossValues.allSatisfy { $0 > 0 } && spread > 50)
        ]
        let accuracies = [
            series("train", 0, { $0.trainAccuracy.map { $0 * 100 } }),
            series("validation", 1, { $0.validationAccuracy.map { $0 * 100 } }),
            series("test", 2, { $0.testAccuracy.map { $0 * 100 } }),
        ].compactMap { $0 }
        if !accuracies.isEmpty {
            charts.append(LineChart(title: "Accuracy", xLabel: "epoch", yLabel: "accuracy (%)", series: accuracies))
        }
        charts.append(LineChart(
            title: "Learning rate", xLabel: "epoch", yLabel: "learning rate (last step of the epoch)",
            series: [series("learning rate", 4, { $0.learningRate })].compactMap { $0 },
            yFormat: { significantDigits($0) }))
        if !data.health.isEmpty {
            let layers = Set(data.health.map(\.layer)).sorted()
            let lines = layers.enumerated().map { index, layer in
                ChartSeries(
                    name: "layer \(layer)", color: palette[index % palette.count],
                    points: data.health.filter { $0.layer == layer }.map { (x: Double($0.step), y: $0.gradientNorm) },
                    dashed: index >= palette.count)
            }
            charts.append(LineChart(
                title: "Gradient norm per layer", xLabel: "step", yLabel: "L2 norm of the weight gradient", series: lines,
                logarithmic: true, yFormat: { significantDigits($0) }))
        }
        if let throughput = series("train", 0, { $0.samplesPerSecond }) {
            charts.append(LineChart(
                title: "Throughput", xLabel: "epoch", yLabel: "samples/s", series: [throughput],
                yFormat: { fixedDecimals($0, 0) }))
        }
        return charts
    }

    /// The confusion matrix as a table: counts coloured by their share of the true class
    /// (blue on the diagonal, red off it), recall and F1 per row, precision per column.
    static func confusionTable(_ metrics: ClassificationMetrics, names: [String]?) -> String {
        let k = metrics.classCount
        let label = { (index: Int) in names.flatMap { index < $0.count ? $0[index] : nil } ?? "\(index)" }
        let figures = metrics.perClass
        let percent = { (value: Double?) in value.map { fixedDecimals($0 * 100, 1) + "%" } ?? "–" }
        var table = "<table class=\"confusion\"><thead><tr><th class=\"corner\">true \\ predicted</th>"
        for j in 0..<k { table += "<th class=\"predicted\">\(Training.html(label(j)))</th>" }
        table += "<th class=\"margin\">rows</th><th class=\"margin\">recall</th><th class=\"margin\">F1</th></tr></thead><tbody>"
        for i in 0..<k {
            let support = figures[i].support
            table += "<tr><th class=\"actual\">\(Training.html(label(i)))</th>"
            for j in 0..<k {
                let count = metrics.confusion[i][j]
                let share = support > 0 ? Double(count) / Double(support) : 0
                let alpha = share > 0 ? min(1, share.squareRoot()) : 0
                let color = i == j ? "31,119,180" : "214,39,40"
                let text = alpha > 0.6 ? " color:#fff;" : ""
                let tip = "true \(label(i)), predicted \(label(j)): \(count) (\(fixedDecimals(share * 100, 1))% of the class)"
                table += "<td class=\"\(i == j ? "hit" : "miss")\" style=\"background:rgba(\(color),\(fixedDecimals(alpha, 3)));\(text)\" "
                    + "title=\"\(Training.html(tip))\">\(count)</td>"
            }
            table += "<td class=\"margin\">\(support)</td><td class=\"margin\">\(percent(figures[i].recall))</td>"
                + "<td class=\"margin\">\(percent(figures[i].f1))</td></tr>"
        }
        table += "</tbody><tfoot><tr><th class=\"actual\">precision</th>"
        for j in 0..<k { table += "<td class=\"margin\">\(percent(figures[j].precision))</td>" }
        table += "<td class=\"margin\">\(metrics.total)</td><td class=\"margin\" colspan=\"2\">accuracy \(percent(metrics.accuracy))</td>"
        return table + "</tr></tfoot></table>\n"
    }

    static let style = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;background:#fff;\
        max-width:1200px;margin:24px auto;padding:0 16px}\
        h1{font-size:22px;margin:0 0 10px;word-break:break-word}h2{font-size:17px;margin:28px 0 10px}\
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}\
        dl.facts dt{color:#666}dl.facts dd{margin:0;font-family:ui-monospace,"DejaVu Sans Mono",monospace;word-break:break-all}\
        .summary{font-weight:600}.note{color:#666}\
        .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}\
        figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:6px;background:#fcfcfc}\
        svg.chart{width:100%;height:auto;display:block;font-size:12px}\
        .chart-title{font-size:15px;font-weight:600;fill:#222}.grid line{stroke:#e8e8e8;stroke-width:1}.grid line.minor{stroke:#f2f2f2}\
        .frame{fill:none;stroke:#999}.y-tick{text-anchor:end;fill:#555}.x-tick{text-anchor:middle;fill:#555}\
        .x-label,.y-label{text-anchor:middle;fill:#333}.legend text{fill:#333}.legend line{stroke-width:2.5}\
        .series polyline{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}.empty{text-anchor:middle;fill:#999}\
        table.confusion{border-collapse:collapse;font-variant-numeric:tabular-nums;margin-bottom:24px}\
        table.confusion th,table.confusion td{border:1px solid #ddd;padding:4px 8px;text-align:right}\
        table.confusion thead th{background:#f4f4f4;font-weight:600}table.confusion th.actual{text-align:left;background:#f4f4f4}\
        table.confusion th.corner{font-weight:400;color:#666}table.confusion .margin{background:#fafafa;color:#444}
        """
}

/// `value` with 3 significant digits (`%.3g`): 0.00123, 1.5e-05, 123.
func significantDigits(_ value: Double) -> String { String(format: "%.3g", value) }
