// SafeTensorsFile: reads and checks a safetensors file (format: SafeTensors.swift).
//
// Every size and offset is checked before it is used, so a truncated, damaged
// or hostile file ends in a typed CheckpointError, never a trap or a huge
// allocation: the header length against the file and the 100 MB cap, the JSON
// against its grammar (UTF-8, depth, value count, duplicate names), each tensor's byte
// range against its shape × dtype and the file's end, and the ranges together
// (sorted by offset, contiguous, no bytes left over), as the reference reader does.

/// A safetensors file in memory, its header checked.
public struct SafeTensorsFile: Sendable {
    /// Where the bytes came from, for messages.
    public let path: String
    /// The whole file.
    public let bytes: [UInt8]
    /// Length of the JSON header (N), padding included.
    public let headerBytes: Int
    /// The tensors in file (offset) order.
    public let tensors: [SafeTensorsEntry]
    /// The `__metadata__` map; empty when the header has none.
    public let metadata: [String: String]

    /// First byte of the data section.
    public var dataStart: Int { 8 + headerBytes }
    /// Bytes of tensor data.
    public var dataBytes: Int { bytes.count - dataStart }

    /// Reads and checks the file at `path`.
    public init(path: String) throws(CheckpointError) {
        try self.init(bytes: try readWholeFile(path), path: path)
    }

    /// Checks `bytes` as a safetensors file; `path` names it in messages.
    public init(bytes: [UInt8], path: String) throws(CheckpointError) {
        guard bytes.count >= 8 else { throw .tooShort(path: path, fileBytes: bytes.count) }
        var claimed: UInt64 = 0
        for index in 0..<8 { claimed |= UInt64(bytes[index]) << UInt64(8 * index) }
        guard claimed <= UInt64(bytes.count - 8) else {
            throw .headerPastEnd(path: path, claimedBytes: claimed, fileBytes: bytes.count)
        }
        let headerBytes = Int(claimed)
        guard headerBytes <= SafeTensors.maximumHeaderBytes else {
            throw .headerTooLarge(path: path, claimedBytes: headerBytes, limit: SafeTensors.maximumHeaderBytes)
        }
        guard headerBytes > 0, bytes[8] == UInt8(ascii: "{") else {
            throw .malformedHeader(path: path, problem: "the header does not start with '{'")
        }

        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes, 8..<8 + headerBytes)
        } catch {
            switch error {
            case .notUTF8(let offset): throw .headerNotUTF8(path: path, headerOffset: offset)
            case .syntax(let problem, let offset):
                throw .malformedHeader(path: path, problem: "\(problem) at header byte \(offset)")
            }
        }
        guard case .object(let members) = root else {
            throw .malformedHeader(path: path, problem: "the header is \(root.kind), not an object")
        }

        var metadata: [String: String]?
        var entries: [SafeTensorsEntry] = []
        var names = Set<String>()
        for (name, value) in members {
            if name == SafeTensors.metadataKey {
                if metadata != nil { throw .malformedHeader(path: path, problem: "'\(name)' appears twice") }
                metadata = try Self.metadata(value, path: path)
                continue
            }
            guard names.insert(name).inserted else { throw .duplicateTensor(path: path, name: name) }
            entries.append(try Self.entry(name, value, path: path))
        }

        // Byte ranges: inside the data section, then contiguous from 0 to its end.
        let dataBytes = bytes.count - 8 - headerBytes
        if let last = entries.max(by: { $0.dataRange.upperBound < $1.dataRange.upperBound }),
           last.dataRange.upperBound > dataBytes {
            throw .tensorPastEnd(path: path, tensor: last.name, end: last.dataRange.upperBound, dataBytes: dataBytes)
        }
        // Ties (empty tensors at one offset) keep their header order.
        entries = entries.enumerated().sorted {
            ($0.element.dataRange.lowerBound, $0.element.dataRange.upperBound, $0.offset)
                < ($1.element.dataRange.lowerBound, $1.element.dataRange.upperBound, $1.offset)
        }.map(\.element)
        var cursor = 0
        for entry in entries {
            guard entry.dataRange.lowerBound == cursor else {
                throw .tensorsNotContiguous(path: path, tensor: entry.name, begin: entry.dataRange.lowerBound, expected: cursor)
            }
            cursor = entry.dataRange.upperBound
        }
        guard cursor == dataBytes else { throw .trailingBytes(path: path, count: dataBytes - cursor) }

        self.path = path
        self.bytes = bytes
        self.headerBytes = headerBytes
        self.tensors = entries
        self.metadata = metadata ?? [:]
    }

    private static func metadata(_ value: JSONValue, path: String) throws(CheckpointError) -> [String: String] {
        guard case .object(let pairs) = value else {
            throw .malformedHeader(path: path, problem: "'\(SafeTensors.metadataKey)' is \(value.kind), not an object of strings")
        }
        var map: [String: String] = [:]
        for (key, item) in pairs {
            guard case .string(let text) = item else {
                throw .malformedHeader(path: path, problem: "metadata '\(key)' is \(item.kind), not a string")
            }
            guard map.updateValue(text, forKey: key) == nil else {
                throw .malformedHeader(path: path, problem: "metadata '\(key)' appears twice")
            }
        }
        return map
    }

    private static func entry(_ name: String, _ value: JSONValue, path: String) throws(CheckpointError) -> SafeTensorsEntry {
        guard case .object(let fields) = value else {
            throw .malformedHeader(path: path, problem: "tensor '\(name)' is \(value.kind), not an object")
        }
        var known: [String: JSONValue] = [:]
        for (key, field) in fields where ["dtype", "shape", "data_offsets"].contains(key) {
            guard known.updateValue(field, forKey: key) == nil else {
                throw .malformedHeader(path: path, problem: "tensor '\(name)' has '\(key)' twice")
            }
        }  // Other fields are ignored, as the reference reader does.
        func field(_ key: String) throws(CheckpointError) -> JSONValue {
            guard let value = known[key] else {
                throw .malformedHeader(path: path, problem: "tensor '\(name)' has no '\(key)'")
            }
            return value
        }
        let dtypeValue = try field("dtype")
        let shapeValue = try field("shape")
        let offsetsValue = try field("data_offsets")

        guard case .string(let dtypeName) = dtypeValue else {
            throw .malformedHeader(path: path, problem: "tensor '\(name)' dtype is \(dtypeValue.kind), not a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw .unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        let shape = try integers(shapeValue, count: nil, what: "shape", tensor: name, path: path)
        let offsets = try integers(offsetsValue, count: 2, what: "data_offsets", tensor: name, path: path)
        let (begin, end) = (offsets[0], offsets[1])

        // Overflow-checked shape × element size; any overflow is a mismatch.
        var byteCount: Int? = dtype.byteSize
        for dimension in shape {
            guard let product = byteCount else { break }
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            byteCount = overflow ? nil : next
        }
        guard begin <= end, let byteCount, end - begin == byteCount else {
            throw .tensorSizeMismatch(path: path, tensor: name, shape: shape, dtype: dtypeName, begin: begin, end: end)
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
    }

    private static func integers(
        _ value: JSONValue, count: Int?, what: String, tensor: String, path: String
    ) throws(CheckpointError) -> [Int] {
        let expected = count.map { "an array of \($0) non-negative integers" } ?? "an array of non-negative integers"
        guard case .array(let items) = value, count == nil || items.count == count else {
            throw .malformedHeader(path: path, problem: "tensor '\(tensor)' \(what) is not \(expected)")
        }
        var result: [Int] = []
        for item in items {
            guard let number = item.nonNegativeInt else {
                throw .malformedHeader(path: path, problem: "tensor '\(tensor)' \(what) is not \(expected)")
            }
            result.append(number)
        }
        return result
    }

    /// The entry named `name`, if any.
    public func entry(named name: String) -> SafeTensorsEntry? {
        tensors.first { $0.name == name }
    }

    /// Runs `body` with the raw little-endian bytes of `entry`, which must come from this file.
    public func withBytes<R>(of entry: SafeTensorsEntry, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        precondition(entry.dataRange.upperBound <= dataBytes, "entry '\(entry.name)' is not from \(path)")
        return bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[dataStart + entry.dataRange.lowerBound..<dataStart + entry.dataRange.upperBound]))
        }
    }

    /// The elements of `entry` as `T`, or nil when the entry's dtype is not `T`'s.
    /// (x86-64 and arm64 are little-endian, like the file.)
    public func values<T: SafeTensorsElement>(of entry: SafeTensorsEntry, as type: T.Type = T.self) -> [T]? {
        guard entry.dtype == T.dtype else { return nil }
        return withBytes(of: entry) { source in
            [T](unsafeUninitializedCapacity: entry.elementCount) { buffer, initialized in
                if let base = buffer.baseAddress, let from = source.baseAddress {
                    UnsafeMutableRawPointer(base).copyMemory(from: from, byteCount: source.count)
                }
                initialized = entry.elementCount
            }
        }
    }
}

/// A Swift type whose bit pattern is a safetensors dtype.
public protocol SafeTensorsElement: BitwiseCopyable {
    /// The dtype with this type's layout.
    static var dtype: SafeTensorsDType { get }
}

extension Float: SafeTensorsElement { public static var dtype: SafeTensorsDType { .f32 } }
extension Double: SafeTensorsElement { public static var dtype: SafeTensorsDType { .f64 } }
extension Int64: SafeTensorsElement { public static var dtype: SafeTensorsDType { .i64 } }
extension Int32: SafeTensorsElement { public static var dtype: SafeTensorsDType { .i32 } }
extension UInt8: SafeTensorsElement { public static var dtype: SafeTensorsDType { .u8 } }
