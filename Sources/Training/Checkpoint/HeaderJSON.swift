// HeaderJSON: the small, bounded JSON reader and writer the safetensors header needs.
//
// Grammar: RFC 8259. Our own parser rather than Foundation's because the
// header must be read with hard limits and exact diagnoses: duplicate keys
// (JSONSerialization keeps the last one silently), nesting depth, the number
// of values (so memory stays a small multiple of a real header, whatever the
// 100 MB a header may claim), invalid UTF-8, the byte offset of each problem. Numbers are kept as their text;
// the caller decides which ones must be integers.

/// A parsed JSON value; objects keep their keys in order, duplicates included.
indirect enum JSONValue {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The value's JSON type, for messages.
    var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    /// The value as a non-negative integer that fits in Int, if it is one.
    var nonNegativeInt: Int? {
        guard case .number(let text) = self, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              text == "0" || !text.hasPrefix("0") else { return nil }
        return Int(text)
    }
}

/// Why a header did not parse; `offset` counts from the first header byte.
enum JSONFailure: Error {
    case syntax(String, offset: Int)
    case notUTF8(offset: Int)
}

/// A recursive-descent parser over `bytes[start..<end]` with a nesting limit.
struct JSONParser {
    static let maximumDepth = 16
    /// About 8 values per tensor: room for over 100,000 tensors.
    static let maximumValues = 1_000_000

    private let bytes: [UInt8]
    private let start: Int
    private let end: Int
    private var position: Int
    private var valueCount = 0

    /// Parses the one value in `bytes[range]`; only whitespace may follow it.
    static func parse(_ bytes: [UInt8], _ range: Range<Int>) throws(JSONFailure) -> JSONValue {
        var parser = JSONParser(bytes: bytes, start: range.lowerBound, end: range.upperBound, position: range.lowerBound)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        if parser.position < parser.end {
            throw .syntax("unexpected \(parser.describe(parser.bytes[parser.position])) after the JSON value",
                          offset: parser.position - parser.start)
        }
        return value
    }

    private var offset: Int { position - start }

    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while position < end, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONFailure) {
        skipWhitespace()
        guard position < end else { throw .syntax("the header ends where \(what) was expected", offset: offset) }
        guard bytes[position] == byte else {
            throw .syntax("expected \(what) but found \(describe(bytes[position]))", offset: offset)
        }
        position += 1
    }

    private mutating func value(depth: Int) throws(JSONFailure) -> JSONValue {
        guard depth < JSONParser.maximumDepth else {
            throw .syntax("values nested deeper than \(JSONParser.maximumDepth) levels", offset: offset)
        }
        valueCount += 1
        guard valueCount <= JSONParser.maximumValues else {
            throw .syntax("more than \(JSONParser.maximumValues) JSON values", offset: offset)
        }
        skipWhitespace()
        guard position < end else { throw .syntax("the header ends where a value was expected", offset: offset) }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw .syntax("expected a value but found \(describe(bytes[position]))", offset: offset)
        }
    }

    private mutating func object(depth: Int) throws(JSONFailure) -> JSONValue {
        position += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < end, bytes[position] == UInt8(ascii: "\"") else {
                throw .syntax("expected a quoted key" + (position < end ? " but found \(describe(bytes[position]))" : ""),
                              offset: offset)
            }
            let key = try string()
            try expect(UInt8(ascii: ":"), "':' after a key")
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard position < end else { throw .syntax("the header ends inside an object", offset: offset) }
            if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            try expect(UInt8(ascii: ","), "',' or '}'")
        }
    }

    private mutating func array(depth: Int) throws(JSONFailure) -> JSONValue {
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < end && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard position < end else { throw .syntax("the header ends inside an array", offset: offset) }
            if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            try expect(UInt8(ascii: ","), "',' or ']'")
        }
    }

    private mutating func literal(_ word: String) throws(JSONFailure) {
        for byte in word.utf8 {
            guard position < end, bytes[position] == byte else {
                throw .syntax("expected '\(word)'", offset: offset)
            }
            position += 1
        }
    }

    private mutating func number() throws(JSONFailure) -> JSONValue {
        let first = position
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.position
            while parser.position < parser.end, (0x30...0x39).contains(parser.bytes[parser.position]) { parser.position += 1 }
            return parser.position - from
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits(&self)
        if integerDigits == 0 || (integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) {
            throw .syntax("malformed number", offset: first - start)
        }
        if position < end && bytes[position] == UInt8(ascii: ".") {
            position += 1
            if digits(&self) == 0 { throw .syntax("malformed number", offset: first - start) }
        }
        if position < end && (bytes[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < end && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            if digits(&self) == 0 { throw .syntax("malformed number", offset: first - start) }
        }
        return .number(String(decoding: bytes[first..<position], as: UTF8.self))
    }

    /// A string starting at the opening quote; escapes decoded, UTF-8 checked.
    private mutating func string() throws(JSONFailure) -> String {
        let first = position
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard position < end else { throw .syntax("unterminated string", offset: first - start) }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw .notUTF8(offset: first - start) }
                return text
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case 0..<0x20:
                throw .syntax("control character 0x\(String(byte, radix: 16)) inside a string", offset: offset - 1)
            default:
                utf8.append(byte)
            }
        }
    }

    private mutating func escape(into utf8: inout [UInt8]) throws(JSONFailure) {
        guard position < end else { throw .syntax("unterminated string", offset: offset) }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard position + 1 < end, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw .syntax("unpaired UTF-16 surrogate in \\u escape", offset: offset)
                }
                position += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else {
                    throw .syntax("unpaired UTF-16 surrogate in \\u escape", offset: offset)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else {
                throw .syntax("unpaired UTF-16 surrogate in \\u escape", offset: offset)
            }
            utf8.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw .syntax("unknown escape '\\\(Character(Unicode.Scalar(byte)))'", offset: offset - 2)
        }
    }

    private mutating func hex4() throws(JSONFailure) -> UInt32 {
        guard position + 4 <= end else { throw .syntax("truncated \\u escape", offset: offset) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw .syntax("invalid hex digit in \\u escape", offset: offset)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}

/// `text` as a JSON string literal: quotes, backslashes and control characters escaped, the rest raw UTF-8.
func jsonQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let digits = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
