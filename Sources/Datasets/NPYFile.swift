// NPYFile: a NumPy .npy array file read into memory (plain or gzip).
//
// Format (numpy/lib/format.py, NEP 1): the magic string \x93NUMPY, a major
// and a minor version byte, the header length (uint16 LE in version 1.0,
// uint32 LE in 2.0 and 3.0), the header (a Python dict literal with 'descr',
// 'fortran_order' and 'shape'; ASCII, or UTF-8 in 3.0), then the elements in
// C (row-major) order. This reader takes the little-endian numeric dtypes a
// dataset holds and checks every size against the file before touching data.

import Engine

/// A .npy file's array: its dtype, shape and raw little-endian elements.
public struct NPYFile {
    /// The element types this reader converts.
    public enum ElementType: String, Sendable, CaseIterable {
        case float32 = "f4"
        case float64 = "f8"
        case uint8 = "u1"
        case int8 = "i1"
        case int16 = "i2"
        case int32 = "i4"
        case int64 = "i8"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .float32, .int32: return 4
            case .float64, .int64: return 8
            }
        }

        /// Whether the elements are integers.
        public var isInteger: Bool { self != .float32 && self != .float64 }

        /// The type a descr such as `<f4` or `|u1` names, or nil (big-endian, other kinds).
        init?(descr: String) {
            guard let order = descr.first, let type = ElementType(rawValue: String(descr.dropFirst())) else { return nil }
            // '<' little-endian, '|' byte order irrelevant, '=' native (little on every platform we build for);
            // '>' is accepted only where byte order does not matter.
            switch order {
            case "<", "=", "|": self = type
            case ">" where type.size == 1: self = type
            default: return nil
            }
        }
    }

    /// The file the array came from, for messages.
    public let path: String
    /// The dtype of the elements.
    public let elementType: ElementType
    /// The array's shape; [] for a scalar.
    public let shape: [Int]
    /// Number of elements (the product of `shape`).
    public let elementCount: Int
    private let bytes: [UInt8]
    private let payloadOffset: Int

    /// Reads and checks the .npy file at `path` (gzip-compressed files are inflated first).
    public init(path: String) throws(NPYError) {
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.contents(of: path)
        } catch {
            throw .file(error)
        }
        try self.init(bytes: bytes, path: path)
    }

    /// Checks and wraps the bytes of a .npy file already in memory; `path` is for messages.
    public init(bytes: [UInt8], path: String) throws(NPYError) {
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        let prefixLength = min(bytes.count, magic.count)
        guard bytes.prefix(prefixLength).elementsEqual(magic.prefix(prefixLength)) else { throw .notNPY(path: path) }
        // The smallest header is version 1.0's: magic, version, a 2-byte length.
        guard bytes.count >= 8 else { throw .truncatedHeader(path: path, neededBytes: 10, actualBytes: bytes.count) }
        let (major, minor) = (bytes[6], bytes[7])
        guard minor == 0 && (1...3).contains(major) else {
            throw .unsupportedVersion(path: path, major: major, minor: minor)
        }
        let lengthBytes = major == 1 ? 2 : 4
        let headerStart = 8 + lengthBytes
        guard bytes.count >= headerStart else {
            throw .truncatedHeader(path: path, neededBytes: headerStart, actualBytes: bytes.count)
        }
        var headerLength = 0
        for index in 0..<lengthBytes { headerLength |= Int(bytes[8 + index]) << (8 * index) }
        let payloadOffset = headerStart + headerLength
        guard bytes.count >= payloadOffset else {
            throw .truncatedHeader(path: path, neededBytes: payloadOffset, actualBytes: bytes.count)
        }
        let headerBytes = Array(bytes[headerStart..<payloadOffset])
        if major < 3, let index = headerBytes.firstIndex(where: { $0 >= 0x80 }) {
            throw .malformedHeader(path: path, detail: "byte \(index) of the header is not ASCII (only version 3.0 headers are UTF-8)")
        }
        let header = try NPYHeader(headerBytes, path: path)
        guard let descr = header.descr, let elementType = ElementType(descr: descr) else {
            throw .unsupportedDataType(path: path, descr: header.descrText)
        }
        if header.fortranOrder { throw .fortranOrder(path: path) }

        var elementCount = 1
        var overflow = false
        for size in header.shape {
            let product = elementCount.multipliedReportingOverflow(by: size)
            overflow = overflow || product.overflow
            elementCount = product.partialValue
        }
        if header.shape.contains(0) { (elementCount, overflow) = (0, false) }
        let payloadBytes = elementCount.multipliedReportingOverflow(by: elementType.size)
        let expected = overflow || payloadBytes.overflow ? Int.max : payloadBytes.partialValue
        guard expected == bytes.count - payloadOffset else {
            throw .sizeMismatch(path: path, shape: header.shape, expectedBytes: expected, actualBytes: bytes.count - payloadOffset)
        }

        self.path = path
        self.elementType = elementType
        self.shape = header.shape
        self.elementCount = elementCount
        self.bytes = bytes
        self.payloadOffset = payloadOffset
    }

    /// The elements converted to Float (float64 rounds to nearest; integers above 2^24 may round).
    public func floats() -> FloatBuffer {
        let buffer = FloatBuffer(count: elementCount)
        let output = buffer.pointer
        let count = elementCount
        let type = elementType
        bytes.withUnsafeBytes { raw in
            guard let start = raw.baseAddress else { return }
            let payload = start + payloadOffset
            switch type {
            case .float32:
                for index in 0..<count {
                    output[index] = Float(bitPattern: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
                }
            case .float64:
                for index in 0..<count {
                    output[index] = Float(Double(bitPattern: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))))
                }
            case .uint8, .int8, .int16, .int32, .int64:
                for index in 0..<count { output[index] = Float(NPYFile.integer(payload, type, index)) }
            }
        }
        return buffer
    }

    /// The elements as Int64 if the dtype is an integer type, else nil.
    public func integers() -> [Int64]? {
        guard elementType.isInteger else { return nil }
        let count = elementCount
        let type = elementType
        return bytes.withUnsafeBytes { raw in
            [Int64](unsafeUninitializedCapacity: count) { output, initializedCount in
                guard let start = raw.baseAddress else { return }
                let payload = start + payloadOffset
                for index in 0..<count { output[index] = NPYFile.integer(payload, type, index) }
                initializedCount = count
            }
        }
    }

    /// Element `index` of an integer payload; the caller checked the bounds.
    @inline(__always)
    private static func integer(_ payload: UnsafeRawPointer, _ type: ElementType, _ index: Int) -> Int64 {
        switch type {
        case .uint8: return Int64(payload.load(fromByteOffset: index, as: UInt8.self))
        case .int8: return Int64(payload.load(fromByteOffset: index, as: Int8.self))
        case .int16: return Int64(Int16(littleEndian: payload.loadUnaligned(fromByteOffset: 2 * index, as: Int16.self)))
        case .int32: return Int64(Int32(littleEndian: payload.loadUnaligned(fromByteOffset: 4 * index, as: Int32.self)))
        case .int64: return Int64(littleEndian: payload.loadUnaligned(fromByteOffset: 8 * index, as: Int64.self))
        case .float32, .float64: return 0  // Callers pass integer types only.
        }
    }
}
