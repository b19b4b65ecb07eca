// What rank 0 leaves in the run directory besides checkpoints: the resolved
// config (config.toml), metrics.jsonl and metrics.csv, TensorBoard event
// files, and report.html, rewritten after every epoch so that a killed run
// still has its curves. A failing write warns once and never stops training.

import Datasets
import Foundation
import Training

final class RunOutputs {
    private let directory: String
    private let metrics: MetricsLog
    private let events: TensorBoardWriter
    private var report: ReportData
    private var warned = false

    static let columns = [
        "step", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy",
        "lr", "grad_norm", "samples_per_second", "reduction_share", "skipped_steps",
    ]

    init(directory: String, title: String, facts: [ReportData.Fact], classNames: [String]?) throws(CommandFailure) {
        self.directory = directory
        do {
            metrics = try MetricsLog(directory: directory, columns: Self.columns)
            events = try TensorBoardWriter(directory: directory)
        } catch {
            throw .data(error.description)
        }
        report = ReportData(title: title, facts: facts, classNames: classNames)
    }

    /// Logs one epoch and redraws the report.
    func epoch(_ epochReport: EpochReport, step: Int) {
        var record: [String: MetricValue] = [
            "step": .int(step), "epoch": .int(epochReport.epoch), "train_loss": .double(epochReport.trainLoss),
            "test_loss": .double(epochReport.testLoss), "lr": .float(epochReport.learningRate),
            "grad_norm": .double(epochReport.gradientNorm),
            "samples_per_second": .double(epochReport.samplesPerSecond),
            "reduction_share": .double(epochReport.communicationShare), "skipped_steps": .int(epochReport.skippedSteps),
        ]
        var scalars: [(tag: String, value: Double)] = [
            ("train/loss", epochReport.trainLoss), ("test/loss", epochReport.testLoss),
            ("learning_rate", Double(epochReport.learningRate)), ("samples_per_second", epochReport.samplesPerSecond),
            ("gradient_norm", epochReport.gradientNorm),
        ]
        if let value = epochReport.trainAccuracy {
            record["train_accuracy"] = .double(value)
            scalars.append(("train/accuracy", value))
        }
        if let value = epochReport.testAccuracy {
            record["test_accuracy"] = .double(value)
            scalars.append(("test/accuracy", value))
        }
        if let value = epochReport.validationLoss {
            record["val_loss"] = .double(value)
            scalars.append(("validation/loss", value))
        }
        if let value = epochReport.validationAccuracy {
            record["val_accuracy"] = .double(value)
            scalars.append(("validation/accuracy", value))
        }
        attempt { () throws(MetricsError) in
            try metrics.log(record)
            try events.addScalars(scalars, step: step)
            try events.flush()
        }
        report.epochs.append(EpochPoint(epochReport))
        writeReport()
    }

    /// Adds gradient-health rows to the report.
    func health(_ healthReport: HealthReport) {
        report.health += HealthPoint.points(of: healthReport)
    }

    /// Final figures: the fingerprint and the test split's confusion matrix.
    func finish(fingerprint: String, classification: ClassificationMetrics?) {
        report.facts.append(.init("sha256", fingerprint))
        report.classification = classification
        writeReport()
        attempt { () throws(MetricsError) in
            try metrics.close()
            try events.close()
        }
    }

    private func writeReport() {
        do throws(ReportError) {
            try RunReport.write(report, to: directory + "/report.html")
        } catch {
            warn(error.description)
        }
    }

    private func attempt(_ body: () throws(MetricsError) -> Void) {
        do { try body() } catch { warn(error.description) }
    }

    private func warn(_ message: String) {
        if !warned { writeStandardError("dptrain: warning: \(message); training goes on\n") }
        warned = true
    }
}
