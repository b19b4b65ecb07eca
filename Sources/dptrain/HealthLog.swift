// gradient-health.jsonl / .csv: one row per layer per logged step, plot-ready.

import Training

final class HealthLog {
    private let log: MetricsLog
    /// The first write error, reported once.
    private var failed = false

    init(directory: String) throws(CommandFailure) {
        do {
            log = try MetricsLog(
                directory: directory,
                columns: ["step", "epoch", "layer", "gradient_norm", "weight_norm", "ratio", "dead_fraction", "global_gradient_norm"],
                name: "gradient-health")
        } catch {
            throw .data(error.description)
        }
    }

    func write(_ report: HealthReport) {
        for layer in report.layers {
            var record: [String: MetricValue] = [
                "step": .int(report.step), "epoch": .int(report.epoch), "layer": .int(layer.layer),
                "gradient_norm": .double(layer.gradientNorm), "weight_norm": .double(layer.weightNorm),
                "ratio": .double(layer.ratio), "global_gradient_norm": .double(report.gradientNorm),
            ]
            if let dead = layer.deadFraction { record["dead_fraction"] = .double(dead) }
            do { try log.log(record) } catch {
                if !failed { writeStandardError("dptrain: warning: \(error.description)\n") }
                failed = true
            }
        }
    }
}
