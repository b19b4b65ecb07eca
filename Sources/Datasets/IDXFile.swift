// IDXFile: the header and elements of an IDX file, plain or gzip-compressed.
//
// The format (LeCun et al., "THE MNIST DATABASE of handwritten digits",
// http://yann.lecun.com/exdb/mnist/): a 4-byte magic 0x00 0x00 TT NN, where TT
// is the element type and NN the number of dimensions; NN big-endian UInt32
// dimension sizes; then the elements in row-major order, big-endian.
// Every size is checked against the file length before anything is read.

import Engine

/// The element type code of an IDX file (third byte of the magic number).
public enum IDXDataType: UInt8, Sendable, CaseIterable {
    /// Unsigned 8-bit integers (Fashion-MNIST's pixels and labels).
    case unsignedByte = 0x08
    /// Signed 8-bit integers.
    case signedByte = 0x09
    /// Signed 16-bit big-endian integers.
    case short = 0x0B
    /// Signed 32-bit big-endian integers.
    case int = 0x0C
    /// 32-bit big-endian IEEE 754 floats.
    case float = 0x0D
    /// 64-bit big-endian IEEE 754 floats (converted to the nearest Float when read).
    case double = 0x0E

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .unsignedByte, .signedByte: return 1
        case .short: return 2
        case .int, .float: return 4
        case .double: return 8
        }
    }

    /// Whether the elements are integers (and so may be class labels).
    public var isInteger: Bool {
        switch self {
        case .unsignedByte, .signedByte, .short, .int: return true
        case .float, .double: return false
        }
    }
}

/// A parsed IDX file: its element type, dimensions and the stored element bytes.
public final class IDXFile {
    /// The path the file was read from; used in error messages.
    public let path: String
    /// The element type.
    public let dataType: IDXDataType
    /// Dimension sizes, outermost first (e.g. [60000, 28, 28] for Fashion-MNIST images).
    public let dimensions: [Int]
    /// Number of elements: the product of `dimensions`.
    public let elementCount: Int

    /// The whole file, header included; elements start at `payloadOffset`.
    private let bytes: [UInt8]
    private let payloadOffset: Int

    /// Reads and parses the IDX file at `path`, gunzipping it if it starts with the gzip magic.
    /// - Parameter missing: the error for a path that does not exist.
    public convenience init(
        path: String,
        missing: (String) -> DatasetError = { .missingFile(path: $0) }
    ) throws(DatasetError) {
        try self.init(bytes: FileBytes.contents(of: path, missing: missing), path: path)
    }

    /// Parses an IDX file already in memory (uncompressed); `path` is for error messages.
    public init(bytes: [UInt8], path: String) throws(DatasetError) {
        if bytes.isEmpty { throw .emptyFile(path: path) }
        guard bytes.count >= 4 else {
            throw .truncatedIDXHeader(path: path, neededBytes: 4, actualBytes: bytes.count)
        }
        let magic = Self.bigEndianUInt32(bytes, at: 0)
        guard bytes[0] == 0, bytes[1] == 0, let dataType = IDXDataType(rawValue: bytes[2]), bytes[3] > 0 else {
            throw .wrongIDXMagic(path: path, found: magic)
        }
        let rank = Int(bytes[3])
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw .truncatedIDXHeader(path: path, neededBytes: headerSize, actualBytes: bytes.count)
        }
        let dimensions = (0..<rank).map { Int(Self.bigEndianUInt32(bytes, at: 4 + 4 * $0)) }

        // An overflowing product cannot match any real file; report it as Int.max bytes.
        var elementCount = 1
        var payloadSize = dataType.byteWidth
        var overflow = false
        for size in dimensions {
            let elements = elementCount.multipliedReportingOverflow(by: size)
            let bytes = payloadSize.multipliedReportingOverflow(by: size)
            overflow = overflow || elements.overflow || bytes.overflow
            elementCount = elements.partialValue
            payloadSize = bytes.partialValue
        }
        let total = headerSize.addingReportingOverflow(payloadSize)
        let expected = overflow || total.overflow ? Int.max : total.partialValue
        guard expected == bytes.count else {
            throw .idxSizeMismatch(path: path, dimensions: dimensions, expectedBytes: expected, actualBytes: bytes.count)
        }

        self.path = path
        self.dataType = dataType
        self.dimensions = dimensions
        self.elementCount = elementCount
        self.bytes = bytes
        self.payloadOffset = headerSize
    }

    /// Converts every element to Float, divided by `divisor`, into `destination`.
    /// - Parameter destination: exactly `elementCount` floats.
    public func decode(into destination: UnsafeMutableBufferPointer<Float>, dividingBy divisor: Float = 1) {
        precondition(destination.count == elementCount,
                     "IDXFile.decode: destination holds \(destination.count) floats, file has \(elementCount)")
        guard let output = destination.baseAddress else { return }
        let count = elementCount
        bytes.withUnsafeBytes { raw in
            guard let start = raw.baseAddress else { return }
            let payload = start + payloadOffset
            switch dataType {
            case .unsignedByte:
                // A table gives exactly Float(v) / divisor and is faster than a division per pixel.
                var table = [Float](repeating: 0, count: 256)
                for value in 0..<256 { table[value] = Float(value) / divisor }
                table.withUnsafeBufferPointer { lookup in
                    let input = payload.assumingMemoryBound(to: UInt8.self)
                    for index in 0..<count { output[index] = lookup[Int(input[index])] }
                }
            case .signedByte:
                let input = payload.assumingMemoryBound(to: UInt8.self)
                for index in 0..<count { output[index] = Float(Int8(bitPattern: input[index])) / divisor }
            case .short:
                for index in 0..<count {
                    let value = Int16(bitPattern: UInt16(bigEndian: payload.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
                    output[index] = Float(value) / divisor
                }
            case .int:
                for index in 0..<count {
                    let value = Int32(bitPattern: UInt32(bigEndian: payload.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
                    output[index] = Float(value) / divisor
                }
            case .float:
                for index in 0..<count {
                    let bits = UInt32(bigEndian: payload.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
                    output[index] = Float(bitPattern: bits) / divisor
                }
            case .double:
                for index in 0..<count {
                    let bits = UInt64(bigEndian: payload.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
                    output[index] = Float(Double(bitPattern: bits) / Double(divisor))
                }
            }
        }
    }

    /// The elements as Float, divided by `divisor`, in a new buffer.
    public func floats(dividingBy divisor: Float = 1) -> FloatBuffer {
        let buffer = FloatBuffer(count: elementCount)
        buffer.withUnsafeMutableBufferPointer { decode(into: $0, dividingBy: divisor) }
        return buffer
    }

    /// The elements as Int32 if the type is an integer type (every IDX integer type fits), else nil.
    public func integers() -> [Int32]? {
        guard dataType.isInteger else { return nil }
        let count = elementCount
        return bytes.withUnsafeBytes { raw in
            [Int32](unsafeUninitializedCapacity: count) { output, initializedCount in
                guard let start = raw.baseAddress else { return }
                let payload = start + payloadOffset
                switch dataType {
                case .unsignedByte:
                    let input = payload.assumingMemoryBound(to: UInt8.self)
                    for index in 0..<count { output[index] = Int32(input[index]) }
                case .signedByte:
                    let input = payload.assumingMemoryBound(to: UInt8.self)
                    for index in 0..<count { output[index] = Int32(Int8(bitPattern: input[index])) }
                case .short:
                    for index in 0..<count {
                        let bits = UInt16(bigEndian: payload.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
                        output[index] = Int32(Int16(bitPattern: bits))
                    }
                case .int:
                    for index in 0..<count {
                        let bits = UInt32(bigEndian: payload.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self))
                        output[index] = Int32(bitPattern: bits)
                    }
                case .float, .double:
                    return  // Excluded by the guard above.
                }
                initializedCount = count
            }
        }
    }

    /// The big-endian UInt32 at `offset`; the caller checked that four bytes are there.
    private static func bigEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
