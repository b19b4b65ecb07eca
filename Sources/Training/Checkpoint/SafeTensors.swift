// The safetensors container: dtypes, tensor entries and the header writer.
//
// Format (https://github.com/huggingface/safetensors, README "Format"):
//   8 bytes   N, unsigned little-endian: the header's length
//   N bytes   JSON object: name → {"dtype", "shape", "data_offsets": [begin, end]}
//             and an optional "__metadata__" string → string map; padded with
//             spaces so the data starts 8-byte aligned
//   the rest  the tensors' raw little-endian bytes, row-major, contiguous, with
//             data_offsets counted from the first byte after the header
// The reference implementation caps N at 100,000,000 bytes; so do we.

/// Element types safetensors defines, with their names in the header.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}

/// One tensor as the header describes it.
public struct SafeTensorsEntry: Sendable, Equatable {
    /// The tensor's name, the header key.
    public let name: String
    /// Element type.
    public let dtype: SafeTensorsDType
    /// Row-major shape; `[]` is a scalar (one element).
    public let shape: [Int]
    /// Byte range in the data section (offsets from the first byte after the header).
    public let dataRange: Range<Int>

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], dataRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataRange = dataRange
    }

    /// Number of elements (the product of the shape).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// Writes safetensors headers; the reader is `SafeTensorsFile`.
public enum SafeTensors {
    /// The largest header a reader accepts, as in the reference implementation.
    public static let maximumHeaderBytes = 100_000_000
    /// The metadata key of the header.
    public static let metadataKey = "__metadata__"

    /// Entries for tensors stored one after another in the given order, from data byte 0.
    public static func contiguousEntries(
        _ tensors: [(name: String, dtype: SafeTensorsDType, shape: [Int])]
    ) -> [SafeTensorsEntry] {
        var cursor = 0
        return tensors.map { tensor in
            precondition(tensor.shape.allSatisfy { $0 >= 0 }, "tensor \(tensor.name): negative dimension in \(tensor.shape)")
            let bytes = tensor.shape.reduce(1, *) * tensor.dtype.byteSize
            defer { cursor += bytes }
            return SafeTensorsEntry(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, dataRange: cursor..<cursor + bytes)
        }
    }

    /// The 8-byte length and the JSON header for `entries` (in file order) and `metadata`
    /// (keys sorted, so equal inputs give equal bytes), padded with spaces to a multiple of 8.
    public static func encodeHeader(_ entries: [SafeTensorsEntry], metadata: [String: String]) -> [UInt8] {
        precondition(Set(entries.map(\.name)).count == entries.count, "safetensors tensor names must be unique")
        precondition(!entries.contains { $0.name == metadataKey }, "'\(metadataKey)' cannot name a tensor")
        var members: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { jsonQuoted($0.key) + ":" + jsonQuoted($0.value) }
            members.append(jsonQuoted(metadataKey) + ":{" + pairs.joined(separator: ",") + "}")
        }
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            members.append(
                jsonQuoted(entry.name) + ":{\"dtype\":" + jsonQuoted(entry.dtype.rawValue) + ",\"shape\":[" + shape
                    + "],\"data_offsets\":[\(entry.dataRange.lowerBound),\(entry.dataRange.upperBound)]}")
        }
        var json = Array(("{" + members.joined(separator: ",") + "}").utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: UInt64(json.count) >> UInt64(shift))) }
        return bytes + json
    }
}
