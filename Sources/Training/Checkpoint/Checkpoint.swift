// Checkpoint: a dptrain checkpoint — named Float32 tensors and a string
// metadata map — stored as a safetensors file (DESIGN.md 5; the container
// is described in SafeTensors.swift), so any safetensors reader loads it.
//
// The metadata always holds
//   format          "dptrain-checkpoint"
//   format_version  "1"
//   model_spec      the model, as `ModelSpec`'s text form
//   step            global optimizer steps taken, a decimal integer
//   tensor_crc32    CRC-32 (zlib's, polynomial 0xEDB88320) of all tensor bytes
//                   in file order, as 0x and 8 upper-case hex digits
//   header_crc32    CRC-32 of the header's content in a canonical form: per
//                   tensor in file order "name\0dtype\0d0,d1,..\0begin,end\0",
//                   then per metadata key but this one, sorted by UTF-8 bytes,
//                   "key\0value\0". A flipped byte in a metadata value keeps the
//                   JSON valid; this catches it.
// and whatever else the trainer records (epoch, optimizer and schedule state,
// RNG keys, world size...). Loading checks, in this order: the container
// (SafeTensorsFile), format, version, the required keys, the header CRC,
// step, dtypes, the tensor CRC, and the model spec when the caller expects one.

import CZlib
import Engine

/// One Float32 tensor of a checkpoint.
public struct CheckpointTensor: Sendable {
    /// The tensor's name in the file, e.g. `layers.0.weight`.
    public let name: String
    /// Row-major shape.
    public let shape: [Int]
    /// The elements, row-major.
    public var values: [Float]

    /// A tensor holding `values`, whose count must be the shape's product.
    public init(name: String, shape: [Int], values: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "tensor \(name): \(values.count) values do not fill shape \(shape)")
        self.name = name
        self.shape = shape
        self.values = values
    }

    /// A tensor holding a copy of `shape`'s product elements of `buffer` from `offset` on.
    public init(name: String, shape: [Int], copying buffer: FloatBuffer, offset: Int = 0) {
        let count = shape.reduce(1, *)
        precondition(offset >= 0 && offset + count <= buffer.count,
                     "tensor \(name): elements \(offset)..<\(offset + count) are outside the buffer of \(buffer.count)")
        self.init(name: name, shape: shape, values: Array(UnsafeBufferPointer(start: buffer.pointer + offset, count: count)))
    }
}

/// A dptrain checkpoint: tensors in file order and the metadata map.
public struct Checkpoint: Sendable {
    /// The `format` every dptrain checkpoint records.
    public static let format = "dptrain-checkpoint"
    /// The `format_version` this build writes and reads.
    public static let formatVersion = 1

    /// Metadata keys with a fixed meaning.
    public enum Key {
        public static let format = "format"
        public static let formatVersion = "format_version"
        public static let modelSpec = "model_spec"
        public static let step = "step"
        public static let epoch = "epoch"
        public static let tensorCRC32 = "tensor_crc32"
        public static let headerCRC32 = "header_crc32"
        /// The keys every checkpoint must have, in the order loading checks them.
        public static let required = [format, formatVersion, modelSpec, step, tensorCRC32, headerCRC32]
    }

    /// The tensors, in file order.
    public var tensors: [CheckpointTensor]
    /// The metadata; `write` fills in format, format_version and tensor_crc32.
    public var metadata: [String: String]
    /// The file it was loaded from; nil for one built in memory.
    public internal(set) var path: String?

    /// A checkpoint of `modelSpec` after `step` steps; `metadata` adds the trainer's own keys.
    public init(modelSpec: String, step: Int, tensors: [CheckpointTensor], metadata: [String: String] = [:]) {
        precondition(step >= 0, "checkpoint step must be non-negative, got \(step)")
        self.tensors = tensors
        self.metadata = metadata
        self.metadata[Key.modelSpec] = modelSpec
        self.metadata[Key.step] = String(step)
    }

    /// The model spec text.
    public var modelSpec: String { metadata[Key.modelSpec] ?? "" }
    /// Optimizer steps taken before the save.
    public var step: Int { metadata[Key.step].flatMap { Int($0) } ?? 0 }
    /// The epoch at save, when recorded.
    public var epoch: Int? { metadata[Key.epoch].flatMap { Int($0) } }

    /// The tensor named `name`, if any.
    public func tensor(named name: String) -> CheckpointTensor? {
        tensors.first { $0.name == name }
    }

    // MARK: Writing

    /// The 8-byte length and the header: the caller's metadata plus format, version and both CRCs.
    private func header() -> [UInt8] {
        var crc: UInt32 = 0
        for tensor in tensors { tensor.values.withUnsafeBytes { crc = crc32(crc, $0) } }
        var metadata = metadata
        metadata[Key.format] = Checkpoint.format
        metadata[Key.formatVersion] = String(Checkpoint.formatVersion)
        metadata[Key.tensorCRC32] = crcText(crc)
        let entries = SafeTensors.contiguousEntries(tensors.map { ($0.name, .f32, $0.shape) })
        metadata[Key.headerCRC32] = crcText(Checkpoint.headerCRC(entries, metadata))
        return SafeTensors.encodeHeader(entries, metadata: metadata)
    }

    /// CRC-32 of the canonical form of a header (see the file comment).
    static func headerCRC(_ entries: [SafeTensorsEntry], _ metadata: [String: String]) -> UInt32 {
        var text: [UInt8] = []
        func field(_ value: String) { text += value.utf8; text.append(0) }
        for entry in entries {
            field(entry.name)
            field(entry.dtype.rawValue)
            field(entry.shape.map(String.init).joined(separator: ","))
            field("\(entry.dataRange.lowerBound),\(entry.dataRange.upperBound)")
        }
        let keys = metadata.keys.filter { $0 != Key.headerCRC32 }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for key in keys {
            field(key)
            field(metadata[key] ?? "")
        }
        return text.withUnsafeBytes { crc32(0, $0) }
    }

    /// The whole file as bytes (for tests and tools; `write` streams instead).
    public func encoded() -> [UInt8] {
        var bytes = header()
        for tensor in tensors { tensor.values.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// Writes the checkpoint to `path` atomically (AtomicFile); on failure every earlier file is intact.
    public func write(to path: String) throws(CheckpointError) {
        let header = header()
        try AtomicFile.write(to: path) { (sink) throws(CheckpointError) in
            try sink.append(contentsOf: header)
            for tensor in tensors { try sink.append(contentsOf: tensor.values) }
        }
    }

    // MARK: Loading

    /// Reads and validates the checkpoint at `path`; see `init(validating:expecting:)`.
    public static func load(from path: String, expecting modelSpec: String? = nil) throws(CheckpointError) -> Checkpoint {
        try Checkpoint(validating: try SafeTensorsFile(path: path), expecting: modelSpec)
    }

    /// Validates `file` as a dptrain checkpoint: format, version, required metadata, both CRCs,
    /// F32 tensors, and `model_spec == modelSpec` when `modelSpec` is given.
    public init(validating file: SafeTensorsFile, expecting modelSpec: String? = nil) throws(CheckpointError) {
        let path = file.path
        let metadata = file.metadata
        guard let format = metadata[Key.format] else { throw .missingMetadata(path: path, key: Key.format) }
        guard format == Checkpoint.format else { throw .wrongFormat(path: path, found: format) }
        guard let version = metadata[Key.formatVersion] else {
            throw .missingMetadata(path: path, key: Key.formatVersion)
        }
        guard version == String(Checkpoint.formatVersion) else {
            throw .unsupportedVersion(path: path, found: version, supported: Checkpoint.formatVersion)
        }
        for key in Key.required where metadata[key] == nil { throw .missingMetadata(path: path, key: key) }
        let recordedHeader = metadata[Key.headerCRC32] ?? ""
        let computedHeader = Checkpoint.headerCRC(file.tensors, metadata)
        guard recordedHeader == crcText(computedHeader) else {
            throw .crcMismatch(path: path, part: "header", recorded: recordedHeader, computed: computedHeader)
        }
        if let step = metadata[Key.step], Int(step).map({ $0 < 0 }) ?? true {
            throw .invalidMetadata(path: path, key: Key.step, value: step, expected: "a non-negative integer")
        }
        if let entry = file.tensors.first(where: { $0.dtype != .f32 }) {
            throw .wrongDType(path: path, tensor: entry.name, dtype: entry.dtype.rawValue)
        }
        let recorded = metadata[Key.tensorCRC32] ?? ""
        let computed = file.bytes.withUnsafeBytes { crc32(0, UnsafeRawBufferPointer(rebasing: $0[file.dataStart...])) }
        guard recorded == crcText(computed) else {
            throw .crcMismatch(path: path, part: "tensor", recorded: recorded, computed: computed)
        }
        if let modelSpec, metadata[Key.modelSpec] != modelSpec {
            throw .wrongModelSpec(path: path, found: metadata[Key.modelSpec] ?? "", expected: modelSpec)
        }
        tensors = file.tensors.map { entry in
            CheckpointTensor(name: entry.name, shape: entry.shape, values: file.values(of: entry, as: Float.self) ?? [])
        }
        self.metadata = metadata
        self.path = path
    }
}

/// zlib's CRC-32 of `bytes`, continuing from `crc` (0 to start).
func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    UInt32(crc32_z(UInt(crc), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count))
}
