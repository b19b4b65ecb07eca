// MetricValue: one value of a metrics record, and how it is spelled in JSON
// and CSV. Numbers use Swift's shortest round-trip spelling (a Float as a
// float32, so 0.1 stays "0.1"), which both formats read back exactly.
// JSON has no NaN or infinity: those are written as null there and as
// nan / inf / -inf in CSV (Python's float() and Swift's Double() read them).

/// A value in a metrics record: an integer, a float32, a double or a string.
public enum MetricValue: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral
{
    case int(Int)
    case float(Float)
    case double(Double)
    case string(String)

    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }

    /// The value as a JSON value.
    var json: String {
        switch self {
        case .int(let value): return String(value)
        case .float(let value): return value.isFinite ? value.description : "null"
        case .double(let value): return value.isFinite ? value.description : "null"
        case .string(let value): return MetricValue.jsonString(value)
        }
    }

    /// The value as a CSV field (quoted when it holds a comma, quote or line break).
    var csv: String {
        switch self {
        case .int(let value): return String(value)
        case .float(let value): return value.description
        case .double(let value): return value.description
        case .string(let value): return MetricValue.csvField(value)
        }
    }

    /// `text` as a JSON string literal (RFC 8259 §7).
    static func jsonString(_ text: String) -> String { jsonQuoted(text) }

    /// `text` as one CSV field (RFC 4180: quoted, inner quotes doubled, when needed).
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingQuotes() + "\""
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var result = ""
        for character in self {
            if character == "\"" { result += "\"\"" } else { result.append(character) }
        }
        return result
    }
}
