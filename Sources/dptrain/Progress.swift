// Progress of a run on rank 0's stdout.
//
// On a terminal: one live line per epoch — bar, step/total, loss, accuracy,
// samples/s, learning rate, ETA of the run — redrawn in place (carriage return,
// then "erase to end of line", ECMA-48 EL) at most 10 times a second, cut to
// the terminal's width so it never wraps, and replaced by the epoch's summary
// line at its end. Elsewhere (batch jobs, Slurm logs, pipes): plain lines, each
// prefixed with an ISO-8601 UTC timestamp, and a step line at most every
// `plainInterval` seconds so that long epochs still show signs of life.
//
// The rendering functions are pure (values in, exact text out); `ProgressView`
// only decides when to call them.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where training stands at one step.
struct StepStatus: Equatable, Sendable {
    /// The epoch, 1-based, of `epochs`.
    var epoch: Int
    var epochs: Int
    /// The step within the epoch, 1-based, of `steps`.
    var step: Int
    var steps: Int
    /// Mean training loss of the epoch's steps so far.
    var loss: Double
    /// Training accuracy of the epoch so far, for classification.
    var accuracy: Double?
    var samplesPerSecond: Double
    var learningRate: Double
    /// Seconds until the run ends, when known.
    var eta: Double?
}

/// Shows the progress of a run: a live line on a terminal, timestamped lines elsewhere.
final class ProgressView {
    /// Whether output goes to a terminal (live line) or not (timestamped lines).
    let isTerminal: Bool
    let epochs: Int
    let stepsPerEpoch: Int
    /// Off a terminal, the least number of seconds between two step lines.
    let plainInterval: Double
    private let clock: () -> Double
    private let now: () -> Date
    private let write: (String) -> Void
    private let columns: () -> Int

    /// Clock reading and run position (`epoch`, `step` as one step count) of the first step seen.
    private var start: (seconds: Double, step: Int)?
    /// When the live line was last drawn (terminal), or any line last written (logs).
    private var lastDraw: Double
    /// Whether a live line is on screen, not yet ended by a newline.
    private var lineShown = false

    /// - Parameters:
    ///   - isTerminal: live line or timestamped lines; by default whether stdout is a terminal.
    ///   - epochs: epochs of the whole run.
    ///   - stepsPerEpoch: optimizer steps per epoch.
    ///   - clock, now, write, columns: seconds of a monotonic clock, wall time, output and
    ///     terminal width; replaceable for tests.
    init(
        isTerminal: Bool = isatty(1) != 0, epochs: Int, stepsPerEpoch: Int, plainInterval: Double = 60,
        clock: @escaping () -> Double = ProgressView.monotonicSeconds, now: @escaping () -> Date = Date.init,
        write: @escaping (String) -> Void = ProgressView.writeStandardOutput,
        columns: @escaping () -> Int = ProgressView.terminalColumns
    ) {
        self.isTerminal = isTerminal
        self.epochs = epochs
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        self.plainInterval = plainInterval
        self.clock = clock
        self.now = now
        self.write = write
        self.columns = columns
        lastDraw = isTerminal ? -Double.infinity : clock()
    }

    /// Reports that `step` (1-based) of `epoch` (1-based) has finished. Draws at most 10 times a
    /// second on a terminal (always the epoch's last step); elsewhere writes a line only when
    /// `plainInterval` seconds have passed without one.
    func step(epoch: Int, step: Int, loss: Double, accuracy: Double?, samplesPerSecond: Double, learningRate: Double) {
        let time = clock()
        let done = (epoch - 1) * stepsPerEpoch + step
        if start == nil { start = (time, done) }
        let last = step >= stepsPerEpoch
        guard time - lastDraw >= (isTerminal ? 0.1 : plainInterval) || (isTerminal && last) else { return }
        if !isTerminal && last { return }  // the epoch's summary line follows at once
        lastDraw = time
        var eta: Double?
        if let start {
            eta = Self.eta(elapsed: time - start.seconds, done: done - start.step, remaining: epochs * stepsPerEpoch - done)
        }
        let status = StepStatus(
            epoch: epoch, epochs: epochs, step: step, steps: stepsPerEpoch, loss: loss, accuracy: accuracy,
            samplesPerSecond: samplesPerSecond, learningRate: learningRate, eta: eta)
        if isTerminal {
            write("\r" + Self.liveLine(status, width: columns()) + "\u{1B}[K")
            lineShown = true
        } else {
            write(Self.timestamped(Self.plainLine(status), at: now()) + "\n")
        }
    }

    /// Ends the epoch with its summary `line` (it replaces the live line on a terminal).
    func epochEnd(line: String) {
        message(line)
        if isTerminal { lastDraw = -Double.infinity }  // draw the next epoch's first step at once
    }

    /// Prints `line` without disturbing the live line: it replaces it on a terminal and is
    /// timestamped elsewhere.
    func message(_ line: String) {
        if isTerminal {
            write((lineShown ? "\r" + line + "\u{1B}[K" : line) + "\n")
            lineShown = false
        } else {
            write(Self.timestamped(line, at: now()) + "\n")
            lastDraw = clock()
        }
    }

    // MARK: - Rendering

    /// The live line, cut to `width - 1` characters so that it never wraps:
    /// `epoch 3/30 [████████▌           ] 234/468  loss 0.4123  acc 85.21%  12345 samples/s  lr 0.001  ETA 2:05`.
    static func liveLine(_ status: StepStatus, width: Int) -> String {
        let fraction = Double(status.step) / Double(max(1, status.steps))
        let line = "epoch \(status.epoch)/\(status.epochs) [\(bar(fraction: fraction, width: 20))] "
            + "\(status.step)/\(status.steps)  " + figures(status) + "  ETA " + (status.eta.map(duration) ?? "-:--")
        return String(line.prefix(max(0, width - 1)))
    }

    /// A step line for logs: `epoch 3/30 step 234/468  loss 0.4123  ...  ETA 2:05`.
    static func plainLine(_ status: StepStatus) -> String {
        "epoch \(status.epoch)/\(status.epochs) step \(status.step)/\(status.steps)  " + figures(status)
            + "  ETA " + (status.eta.map(duration) ?? "-:--")
    }

    /// `loss 0.4123  acc 85.21%  12345 samples/s  lr 0.001` (no accuracy for regression).
    static func figures(_ status: StepStatus) -> String {
        var text = "loss " + String(format: "%.4f", status.loss)
        if let accuracy = status.accuracy { text += "  acc " + String(format: "%.2f%%", accuracy * 100) }
        let rate = status.samplesPerSecond.isFinite ? Int(status.samplesPerSecond.rounded()) : 0
        return text + "  \(rate) samples/s  lr " + String(format: "%.3g", status.learningRate)
    }

    /// A bar `width` cells wide filled to `fraction` in eighths of a cell.
    static func bar(fraction: Double, width: Int) -> String {
        let clamped = fraction.isFinite ? min(1, max(0, fraction)) : 0
        let eighths = Int((clamped * Double(width * 8)).rounded(.down))
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        let full = eighths / 8
        return String(repeating: "█", count: full) + partial
            + String(repeating: " ", count: width - full - (partial.isEmpty ? 0 : 1))
    }

    /// Seconds as `m:ss`, or `h:mm:ss` from an hour on.
    static func duration(_ seconds: Double) -> String {
        let total = seconds.isFinite ? Int(max(0, seconds).rounded()) : 0
        let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
        let tail = String(format: "%02d", rest)
        return hours > 0 ? "\(hours):" + String(format: "%02d", minutes) + ":" + tail : "\(minutes):" + tail
    }

    /// Seconds left when `done` steps took `elapsed` seconds and `remaining` are to come; nil before any step.
    static func eta(elapsed: Double, done: Int, remaining: Int) -> Double? {
        guard done > 0, elapsed >= 0 else { return nil }
        return elapsed / Double(done) * Double(max(0, remaining))
    }

    /// `line` after an ISO-8601 UTC timestamp: `2025-03-01T14:02:07Z line`.
    static func timestamped(_ line: String, at date: Date) -> String {
        timestamp(date) + " " + line
    }

    /// `date` in ISO 8601, UTC, whole seconds: `2025-03-01T14:02:07Z`.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    // MARK: - The real terminal

    /// Seconds of the monotonic clock.
    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    /// Writes `text` to stdout at once (through `print`'s buffer, so it stays in order with other output).
    static func writeStandardOutput(_ text: String) {
        print(text, terminator: "")
        fflush(nil)
    }

    /// Columns of the terminal on stdout; `$COLUMNS` or 80 when unknown.
    static func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap { Int($0) } ?? 80
    }
}
