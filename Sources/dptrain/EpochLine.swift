// Plain-text rendering of progress: one line per epoch, fixed decimals.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Training

struct EpochLine {
    let text: String

    /// `secondsSinceLaunch`, when given, ends the line as `  at 12.34 s`: the
    /// wall time from process start, so time to an accuracy reads off the log.
    init(_ report: EpochReport, secondsSinceLaunch: Double? = nil) {
        var line = "epoch \(report.epoch)/\(report.epochs)  train loss \(fixed(report.trainLoss, 4))"
        if let accuracy = report.trainAccuracy { line += " acc \(percent(accuracy))" }
        if let loss = report.validationLoss {
            line += "  val loss \(fixed(loss, 4))"
            if let accuracy = report.validationAccuracy { line += " acc \(percent(accuracy))" }
        }
        line += "  test loss \(fixed(report.testLoss, 4))"
        if let accuracy = report.testAccuracy { line += " acc \(percent(accuracy))" }
        line += "  lr \(significant(Double(report.learningRate)))"
        line += "  \(Int(report.samplesPerSecond.rounded())) samples/s"
        if report.communicationShare > 0 { line += "  reduction \(fixed(report.communicationShare * 100, 1))% of step time" }
        if report.stopsEarly { line += "  (early stop)" }
        if report.skippedSteps > 0 {
            line += "  skipped \(report.skippedSteps) step\(report.skippedSteps == 1 ? "" : "s") with NaN/Inf"
        }
        if let secondsSinceLaunch { line += "  at \(fixed(secondsSinceLaunch, 2)) s" }
        text = line
    }
}

/// `value` with exactly `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String {
    if !value.isFinite { return "\(value)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    }
    return text
}

/// `value` with 3 significant digits (`%.3g`).
func significant(_ value: Double) -> String { String(format: "%.3g", value) }

/// A fraction as a percentage with two decimals.
func percent(_ fraction: Double) -> String { fixed(fraction * 100, 2) + "%" }

/// Flushes stdout so progress shows up at once in logs and pipes.
func flush() { fflush(nil) }
