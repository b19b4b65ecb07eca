// LineChart: one self-contained inline SVG of several series over a shared x
// axis — axes, grid, "nice" ticks (1, 2 or 5 × 10^n steps, Heckbert, "Nice
// numbers for graph labels", Graphics Gems, 1990) or decades on a logarithmic
// y axis, a legend, and a <title> on each series and marker so that a browser
// shows the value on hover without any script. Non-finite points (and
// non-positive ones on a log axis) break the line instead of bending it.

import Foundation

/// One line of a chart.
struct ChartSeries: Sendable {
    var name: String
    /// A CSS color.
    var color: String
    var points: [(x: Double, y: Double)]
    var dashed = false
}

/// A line chart rendered as an inline SVG element.
struct LineChart: Sendable {
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [ChartSeries]
    /// Logarithmic y axis (decades).
    var logarithmic = false
    /// Whole-number x ticks only (epochs, steps).
    var integerX = true
    /// How y values print in ticks and tooltips (default: as the tick step needs).
    var yFormat: (@Sendable (Double) -> String)?
    var width = 560.0
    var height = 320.0

    // Plot area inside the SVG.
    private var left: Double { 80 }
    private var right: Double { width - 28 }
    private var top: Double { 56 }
    private var bottom: Double { height - 46 }

    /// The `<svg>` element.
    func svg() -> String {
        let usable = series.map { line in
            (line, line.points.filter { $0.x.isFinite && $0.y.isFinite && (!logarithmic || $0.y > 0) })
        }
        let all = usable.flatMap(\.1)
        var out = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(n(width)) \(n(height))\" "
            + "role=\"img\" aria-label=\"\(html(title))\">"
        out += "<text class=\"chart-title\" x=\"\(n(left))\" y=\"22\">\(html(title))</text>"
        out += legend(usable.filter { !$0.1.isEmpty }.map(\.0))
        guard let xMin = all.map(\.x).min(), let xMax = all.map(\.x).max(),
              let yMin = all.map(\.y).min(), let yMax = all.map(\.y).max() else {
            out += "<rect class=\"frame\" x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\"/>"
            out += "<text class=\"empty\" x=\"\(n((left + right) / 2))\" y=\"\(n((top + bottom) / 2))\">no data</text></svg>"
            return out
        }
        let xTicks = integerX ? Ticks.integer(xMin, xMax) : Ticks.linear(xMin, xMax, padded: false)
        let yTicks = logarithmic ? Ticks.decades(yMin, yMax) : Ticks.linear(yMin, yMax)
        let format = yFormat ?? yTicks.format
        let xScale = { (x: Double) in left + (x - xTicks.low) / (xTicks.high - xTicks.low) * (right - left) }
        let yScale = { (y: Double) -> Double in
            let (value, low, high) = logarithmic ? (log10(y), log10(yTicks.low), log10(yTicks.high)) : (y, yTicks.low, yTicks.high)
            return bottom - (value - low) / (high - low) * (bottom - top)
        }

        out += "<g class=\"grid\">"
        if logarithmic && yTicks.values.count <= 4 {
            // Unlabelled lines at 2…9 × 10^n, so that values within a decade can be read.
            for decade in yTicks.values.dropLast() {
                for factor in 2...9 {
                    let y = yScale(decade * Double(factor))
                    out += "<line class=\"minor\" x1=\"\(n(left))\" x2=\"\(n(right))\" y1=\"\(n(y))\" y2=\"\(n(y))\"/>"
                }
            }
        }
        for tick in yTicks.values {
            out += "<line x1=\"\(n(left))\" x2=\"\(n(right))\" y1=\"\(n(yScale(tick)))\" y2=\"\(n(yScale(tick)))\"/>"
        }
        for tick in xTicks.values {
            out += "<line x1=\"\(n(xScale(tick)))\" x2=\"\(n(xScale(tick)))\" y1=\"\(n(top))\" y2=\"\(n(bottom))\"/>"
        }
        out += "</g><g class=\"axis\">"
        out += "<rect class=\"frame\" x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\"/>"
        for tick in yTicks.values {
            let label = logarithmic ? Ticks.powerOfTen(tick) : format(tick)
            out += "<text class=\"y-tick\" x=\"\(n(left - 6))\" y=\"\(n(yScale(tick) + 4))\">\(html(label))</text>"
        }
        for tick in xTicks.values {
            out += "<text class=\"x-tick\" x=\"\(n(xScale(tick)))\" y=\"\(n(bottom + 16))\">\(html(xTicks.format(tick)))</text>"
        }
        out += "<text class=\"x-label\" x=\"\(n((left + right) / 2))\" y=\"\(n(height - 8))\">\(html(xLabel))</text>"
        out += "<text class=\"y-label\" transform=\"translate(14 \(n((top + bottom) / 2))) rotate(-90)\">\(html(yLabel))</text>"
        out += "</g>"

        for (line, points) in usable where !points.isEmpty {
            out += "<g class=\"series\" data-series=\"\(html(line.name))\"><title>\(html(line.name))</title>"
            for segment in segments(of: line.points) {
                let coordinates = segment.map { "\(n(xScale($0.x))),\(n(yScale($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(coordinates)\" stroke=\"\(html(line.color))\""
                    + (line.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>"
            }
            if points.count <= 60 {
                for point in points {
                    out += "<circle cx=\"\(n(xScale(point.x)))\" cy=\"\(n(yScale(point.y)))\" r=\"2.5\" fill=\"\(html(line.color))\">"
                        + "<title>\(html(line.name)), \(html(xLabel)) \(html(xTicks.format(point.x))): \(html(format(point.y)))</title></circle>"
                }
            }
            out += "</g>"
        }
        return out + "</svg>"
    }

    /// Runs of consecutive plottable points.
    private func segments(of points: [(x: Double, y: Double)]) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = [[]]
        for point in points {
            if point.x.isFinite && point.y.isFinite && (!logarithmic || point.y > 0) {
                runs[runs.count - 1].append(point)
            } else if !(runs.last?.isEmpty ?? true) {
                runs.append([])
            }
        }
        return runs.filter { !$0.isEmpty }
    }

    /// Swatches and names in a row under the title, wrapping to more rows when needed.
    private func legend(_ lines: [ChartSeries]) -> String {
        var out = "<g class=\"legend\">"
        var x = left
        var y = 40.0
        for line in lines {
            let itemWidth = 30 + Double(line.name.count) * 6.6 + 14
            if x + itemWidth > right && x > left {
                x = left
                y += 16
            }
            out += "<line x1=\"\(n(x))\" x2=\"\(n(x + 22))\" y1=\"\(n(y - 4))\" y2=\"\(n(y - 4))\" stroke=\"\(html(line.color))\""
                + (line.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>"
            out += "<text x=\"\(n(x + 28))\" y=\"\(n(y))\">\(html(line.name))</text>"
            x += itemWidth
        }
        return out + "</g>"
    }
}

/// Axis ticks: the domain they span and the values to label.
struct Ticks: Sendable {
    var low: Double
    var high: Double
    var values: [Double]
    /// Decimals the tick step needs.
    var decimals: Int

    func format(_ value: Double) -> String { fixedDecimals(value, decimals) }

    /// About 5 ticks at 1, 2 or 5 × 10^n, spanning `[minimum, maximum]`, with a little room
    /// around it when `padded` (so that extreme points do not sit on the frame).
    static func linear(_ minimum: Double, _ maximum: Double, count: Int = 5, padded: Bool = true) -> Ticks {
        var (low, high) = (minimum, maximum)
        if high - low < 1e-12 * max(1, abs(low)) {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        } else if padded {
            // Never below a zero floor.
            let pad = (high - low) * 0.04
            (low, high) = (minimum >= 0 ? max(0, low - pad) : low - pad, high + pad)
        }
        let step = niceStep((high - low) / Double(count))
        let first = (low / step).rounded(.down) * step
        let last = (high / step).rounded(.up) * step
        let steps = Int(((last - first) / step).rounded())
        let values = (0...steps).map { first + Double($0) * step }
        return Ticks(low: first, high: last, values: values, decimals: max(0, Int((-log10(step) - 1e-9).rounded(.up))))
    }

    /// Linear ticks on whole numbers only (never a tick at 2.5 epochs).
    static func integer(_ minimum: Double, _ maximum: Double) -> Ticks {
        if maximum - minimum < 5 {
            // A single value sits in the middle, not on the frame.
            let single = maximum - minimum < 1
            let low = minimum.rounded(.down) - (single ? 1 : 0), high = maximum.rounded(.up) + (single ? 1 : 0)
            return Ticks(low: low, high: high, values: Array(stride(from: low, through: high, by: 1)), decimals: 0)
        }
        return linear(minimum, maximum, padded: false)  // a span of 5 or more gives steps of 1 or more
    }

    /// Powers of ten spanning `[minimum, maximum]` (both > 0), at most about 7 labelled.
    static func decades(_ minimum: Double, _ maximum: Double) -> Ticks {
        var low = log10(minimum).rounded(.down)
        var high = log10(maximum).rounded(.up)
        if high <= low { (low, high) = (low, low + 1) }
        let stride = max(1, ((high - low) / 7).rounded(.up))
        let exponents = Swift.stride(from: low, through: high, by: stride)
        return Ticks(low: pow(10, low), high: pow(10, high), values: exponents.map { pow(10, $0) }, decimals: 0)
    }

    /// 10 raised to a whole exponent, written with a superscript: `10⁻³`.
    static func powerOfTen(_ value: Double) -> String {
        let exponent = Int(log10(value).rounded())
        let digits: [Character: String] = [
            "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹",
        ]
        return "10" + String(exponent).map { digits[$0] ?? String($0) }.joined()
    }

    /// The step among 1, 2, 5 × 10^n nearest to `rough` (Heckbert's rounding).
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let magnitude = pow(10, log10(rough).rounded(.down))
        let fraction = rough / magnitude
        return (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * magnitude
    }
}

/// `value` with exactly `decimals` decimals (no "-0").
func fixedDecimals(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return String(format: "%.\(decimals)f", rounded == 0 ? 0 : rounded)
}

/// SVG coordinates: one decimal is finer than a pixel.
private func n(_ value: Double) -> String { fixedDecimals(value, 1) }

/// `text` safe inside HTML and SVG text and attribute values.
func html(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}
