// ProtobufEncoder: just enough of the protocol buffers wire format to write
// TensorBoard events and ONNX models without a protobuf library.
//
// Wire format (protobuf.dev/programming-guides/encoding): a field is a key
// varint (field number << 3 | wire type) followed by its payload — a varint
// (type 0: integers, bools, enums; negative int64 as its 64-bit two's
// complement, ten bytes), 8 little-endian bytes (type 1: double), a varint
// length and that many bytes (type 2: strings, bytes, nested messages, packed
// repeated scalars) or 4 little-endian bytes (type 5: float).

/// Appends protobuf-encoded fields to a byte array.
struct ProtobufEncoder {
    /// How a field's payload is laid out.
    enum WireType: UInt64 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// The encoded message so far.
    private(set) var bytes: [UInt8] = []

    init() {}

    /// A message built by `build`.
    static func message(_ build: (inout ProtobufEncoder) -> Void) -> [UInt8] {
        var encoder = ProtobufEncoder()
        build(&encoder)
        return encoder.bytes
    }

    /// Appends `value` as a base-128 varint, low group first.
    mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    private mutating func appendKey(_ field: Int, _ wireType: WireType) {
        precondition(field > 0 && field < 1 << 29, "protobuf field number \(field) out of range")
        appendVarint(UInt64(field) << 3 | wireType.rawValue)
    }

    /// An unsigned integer, bool or enum field.
    mutating func unsigned(_ field: Int, _ value: UInt64) {
        appendKey(field, .varint)
        appendVarint(value)
    }

    /// An int32, int64 or enum field (negative values take ten bytes, as protobuf specifies).
    mutating func integer(_ field: Int, _ value: Int) {
        unsigned(field, UInt64(bitPattern: Int64(value)))
    }

    /// A double field.
    mutating func double(_ field: Int, _ value: Double) {
        appendKey(field, .fixed64)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    /// A float field.
    mutating func float(_ field: Int, _ value: Float) {
        appendKey(field, .fixed32)
        let bits = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
    }

    /// A bytes field, or a nested message already encoded.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        appendKey(field, .lengthDelimited)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A string field, UTF-8 encoded.
    mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8))
    }

    /// A nested message field built by `build`.
    mutating func message(_ field: Int, _ build: (inout ProtobufEncoder) -> Void) {
        bytes(field, ProtobufEncoder.message(build))
    }

    /// A packed repeated int64 field.
    mutating func packedIntegers(_ field: Int, _ values: [Int]) {
        var payload = ProtobufEncoder()
        for value in values { payload.appendVarint(UInt64(bitPattern: Int64(value))) }
        bytes(field, payload.bytes)
    }
}
