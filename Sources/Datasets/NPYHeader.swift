// NPYHeader: the dictionary in a .npy header, parsed without evaluating it.
//
// numpy writes (numpy/lib/format.py, "Format Version 1.0"):
//   {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }
// padded with spaces and ended by a newline. This parser accepts the Python
// literals such a header can hold — dicts, tuples, lists, strings in single
// or double quotes, integers (with Python 2's L suffix), True, False, None —
// and nothing else; it never executes anything. Nesting is limited so a
// hostile header cannot exhaust the stack.

/// The three keys of a .npy header.
struct NPYHeader {
    /// The dtype string, e.g. `<f4`; nil when descr is not a string (a structured dtype).
    let descr: String?
    /// How descr is spelled in the file, for messages.
    let descrText: String
    let fortranOrder: Bool
    let shape: [Int]

    /// A Python literal value.
    enum Literal {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case none
        case tuple([Literal])
        case list([Literal])
        case dictionary([(String, Literal)])

        /// The literal as Python would print it.
        var text: String {
            switch self {
            case .string(let value): return "'\(value)'"
            case .integer(let value): return String(value)
            case .boolean(let value): return value ? "True" : "False"
            case .none: return "None"
            case .tuple(let items): return items.count == 1 ? "(\(items[0].text),)" : "(" + items.map(\.text).joined(separator: ", ") + ")"
            case .list(let items): return "[" + items.map(\.text).joined(separator: ", ") + "]"
            case .dictionary(let pairs): return "{" + pairs.map { "'\($0.0)': \($0.1.text)" }.joined(separator: ", ") + "}"
            }
        }
    }

    /// Parses `text` (the header bytes after the length field); errors name `path`.
    init(_ text: [UInt8], path: String) throws(NPYError) {
        var parser = Parser(bytes: text)
        let value: Literal
        do throws(Parser.Failure) {
            value = try parser.parseValue(depth: 0)
            parser.skipSpace()
            if parser.position < text.count {
                throw Parser.Failure("unexpected \(parser.describe(at: parser.position)) after the dictionary")
            }
        } catch {
            throw .malformedHeader(path: path, detail: error.message)
        }
        guard case .dictionary(let pairs) = value else {
            throw .malformedHeader(path: path, detail: "expected a dictionary {...}, found \(value.text)")
        }
        func entry(_ key: String) throws(NPYError) -> Literal {
            guard let pair = pairs.first(where: { $0.0 == key }) else {
                throw .malformedHeader(path: path, detail: "no '\(key)' key")
            }
            return pair.1
        }
        let descr = try entry("descr")
        guard case .boolean(let fortranOrder) = try entry("fortran_order") else {
            throw .malformedHeader(path: path, detail: "'fortran_order' is \(try entry("fortran_order").text), not True or False")
        }
        let shapeValue = try entry("shape")
        guard case .tuple(let dimensions) = shapeValue else {
            throw .malformedHeader(path: path, detail: "'shape' is \(shapeValue.text), not a tuple")
        }
        var shape: [Int] = []
        for dimension in dimensions {
            guard case .integer(let size) = dimension, size >= 0 else {
                throw .malformedHeader(path: path, detail: "'shape' \(shapeValue.text) holds \(dimension.text), not a size ≥ 0")
            }
            shape.append(size)
        }
        if case .string(let text) = descr { self.descr = text } else { self.descr = nil }
        self.descrText = descr.text
        self.fortranOrder = fortranOrder
        self.shape = shape
    }

    /// A recursive-descent parser over the header bytes.
    private struct Parser {
        struct Failure: Error {
            let message: String
            init(_ message: String) { self.message = message }
        }

        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        /// What is at `index`, for messages: a quoted character or "the end".
        func describe(at index: Int) -> String {
            guard index < bytes.count else { return "end of header" }
            let byte = bytes[index]
            return byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))' at byte \(index) of the header"
                : "byte 0x\(String(byte, radix: 16)) at byte \(index) of the header"
        }

        mutating func parseValue(depth: Int) throws(Failure) -> Literal {
            guard depth < 32 else { throw Failure("nested more than 32 levels deep") }
            skipSpace()
            guard position < bytes.count else { throw Failure("ends where a value was expected") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                var pairs: [(String, Literal)] = []
                for item in try parseSequence(close: UInt8(ascii: "}"), depth: depth, dictionary: true) {
                    guard case .tuple(let pair) = item, pair.count == 2, case .string(let key) = pair[0] else {
                        throw Failure("a dictionary key is not a string")
                    }
                    pairs.append((key, pair[1]))
                }
                return .dictionary(pairs)
            case UInt8(ascii: "("):
                return .tuple(try parseSequence(close: UInt8(ascii: ")"), depth: depth, dictionary: false))
            case UInt8(ascii: "["):
                return .list(try parseSequence(close: UInt8(ascii: "]"), depth: depth, dictionary: false))
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                return .string(try parseString())
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                return .integer(try parseInteger())
            default:
                for (word, value) in [("True", Literal.boolean(true)), ("False", .boolean(false)), ("None", .none)]
                where bytes[position...].starts(with: word.utf8) {
                    position += word.utf8.count
                    return value
                }
                throw Failure("unexpected \(describe(at: position))")
            }
        }

        /// Items up to `close`, comma-separated, trailing comma allowed; for a
        /// dictionary each item is a (key, value) tuple.
        private mutating func parseSequence(close: UInt8, depth: Int, dictionary: Bool) throws(Failure) -> [Literal] {
            position += 1
            var items: [Literal] = []
            while true {
                skipSpace()
                if position < bytes.count && bytes[position] == close {
                    position += 1
                    return items
                }
                var item = try parseValue(depth: depth + 1)
                skipSpace()
                if dictionary {
                    guard position < bytes.count && bytes[position] == UInt8(ascii: ":") else {
                        throw Failure("expected ':' but found \(describe(at: position))")
                    }
                    position += 1
                    item = .tuple([item, try parseValue(depth: depth + 1)])
                    skipSpace()
                }
                items.append(item)
                guard position < bytes.count else { throw Failure("ends before '\(Character(Unicode.Scalar(close)))'") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] != close {
                    throw Failure("expected ',' or '\(Character(Unicode.Scalar(close)))' but found \(describe(at: position))")
                }
            }
        }

        private mutating func parseString() throws(Failure) -> String {
            let quote = bytes[position]
            let start = position
            position += 1
            var content: [UInt8] = []
            while position < bytes.count && bytes[position] != quote {
                if bytes[position] == UInt8(ascii: "\\") { position += 1 }
                if position < bytes.count { content.append(bytes[position]) }
                position += 1
            }
            guard position < bytes.count else { throw Failure("string starting at byte \(start) of the header is not closed") }
            position += 1
            return String(decoding: content, as: UTF8.self)
        }

        private mutating func parseInteger() throws(Failure) -> Int {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            var value = 0
            var digits = 0
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                let step = value.multipliedReportingOverflow(by: 10)
                let sum = step.partialValue.addingReportingOverflow(Int(bytes[position] - UInt8(ascii: "0")))
                guard !step.overflow && !sum.overflow else { throw Failure("integer at byte \(start) of the header is too large") }
                value = sum.partialValue
                digits += 1
                position += 1
            }
            guard digits > 0 else { throw Failure("unexpected \(describe(at: start))") }
            if position < bytes.count && (bytes[position] == UInt8(ascii: "L") || bytes[position] == UInt8(ascii: "l")) {
                position += 1
            }
            return bytes[start] == UInt8(ascii: "-") ? -value : value
        }
    }
}
