// CheckpointError: everything a checkpoint file, or writing one, can do wrong.
//
// DESIGN.md decision 8: each failure a user (or a crash, a full disk, a bad
// copy) can cause is a typed error whose one-line message names the file, says
// what is wrong and what to do. The safetensors reader and the checkpoint
// loader throw nothing else and never crash on a file's content.

/// A problem with a checkpoint file or the run directory, with a one-line message.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    // Opening and reading.
    /// The file does not exist.
    case missingFile(path: String)
    /// The file exists but cannot be opened or read; `reason` is the system's text.
    case unreadable(path: String, reason: String)

    // The safetensors container (https://github.com/huggingface/safetensors#format).
    /// The file is shorter than the 8-byte header length.
    case tooShort(path: String, fileBytes: Int)
    /// The header length points past the end of the file.
    case headerPastEnd(path: String, claimedBytes: UInt64, fileBytes: Int)
    /// The header length is larger than any safetensors header may be.
    case headerTooLarge(path: String, claimedBytes: Int, limit: Int)
    /// A string in the header is not valid UTF-8.
    case headerNotUTF8(path: String, headerOffset: Int)
    /// The header is not the JSON safetensors prescribes; `problem` says where and what.
    case malformedHeader(path: String, problem: String)
    /// Two tensors have the same name.
    case duplicateTensor(path: String, name: String)
    /// A tensor's dtype is not one safetensors defines.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A tensor's byte range does not hold shape × element size bytes.
    case tensorSizeMismatch(path: String, tensor: String, shape: [Int], dtype: String, begin: Int, end: Int)
    /// A tensor's byte range reaches past the end of the file.
    case tensorPastEnd(path: String, tensor: String, end: Int, dataBytes: Int)
    /// Tensors overlap or leave a gap: sorted by offset, one must start where the previous ends.
    case tensorsNotContiguous(path: String, tensor: String, begin: Int, expected: Int)
    /// Bytes follow the last tensor.
    case trailingBytes(path: String, count: Int)

    // The dptrain checkpoint inside the container.
    /// A metadata key dptrain writes in every checkpoint is absent.
    case missingMetadata(path: String, key: String)
    /// The metadata's `format` is not `dptrain-checkpoint`.
    case wrongFormat(path: String, found: String)
    /// The metadata's `format_version` is one this build cannot read.
    case unsupportedVersion(path: String, found: String, supported: Int)
    /// A metadata value does not parse as what it stands for.
    case invalidMetadata(path: String, key: String, value: String, expected: String)
    /// The CRC-32 of the "tensor" bytes or of the "header" content differs from the one recorded at save.
    case crcMismatch(path: String, part: String, recorded: String, computed: UInt32)
    /// A tensor is not F32, the only dtype dptrain checkpoints hold.
    case wrongDType(path: String, tensor: String, dtype: String)
    /// The checkpoint was written for another model.
    case wrongModelSpec(path: String, found: String, expected: String)
    /// A tensor the caller needs is not in the checkpoint.
    case missingTensor(path: String, name: String)
    /// A tensor has another shape than the caller needs.
    case wrongTensorShape(path: String, name: String, found: [Int], expected: [Int])

    // Writing.
    /// A step of writing a file failed; every file written earlier is untouched.
    case writeFailed(path: String, operation: String, reason: String)
    /// The run directory cannot be created, listed or used.
    case unusableDirectory(path: String, reason: String)

    /// The message, one line: the file, what is wrong, what to do.
    public var description: String {
        let damaged = "the file is damaged or not a checkpoint"
        switch self {
        case .missingFile(let path):
            return "\(path): no such file; check the path"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the file (\(reason)); check the path and its permissions"
        case .tooShort(let path, let bytes):
            return "\(path): the file has \(bytes) byte\(bytes == 1 ? "" : "s"), fewer than the 8-byte header length; "
                + "the file is truncated or not a checkpoint"
        case .headerPastEnd(let path, let claimed, let bytes):
            return "\(path): header claims \(claimed) bytes but the file has \(bytes); "
                + "the file is truncated or not a checkpoint"
        case .headerTooLarge(let path, let claimed, let limit):
            return "\(path): header claims \(claimed) bytes, more than the \(limit) a safetensors header may have; \(damaged)"
        case .headerNotUTF8(let path, let offset):
            return "\(path): header is not valid UTF-8 (string at header byte \(offset)); \(damaged)"
        case .malformedHeader(let path, let problem):
            return "\(path): malformed header: \(problem); \(damaged)"
        case .duplicateTensor(let path, let name):
            return "\(path): tensor '\(name)' appears twice in the header; \(damaged)"
        case .unknownDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)' (valid: "
                + SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ") + "); \(damaged)"
        case .tensorSizeMismatch(let path, let tensor, let shape, let dtype, let begin, let end):
            return "\(path): tensor '\(tensor)' of shape \(shape) \(dtype) does not fit its data_offsets [\(begin), \(end)]; "
                + damaged
        case .tensorPastEnd(let path, let tensor, let end, let dataBytes):
            return "\(path): tensor '\(tensor)' ends at data byte \(end) but the file holds \(dataBytes) data bytes; "
                + "the file is truncated"
        case .tensorsNotContiguous(let path, let tensor, let begin, let expected):
            return "\(path): tensor '\(tensor)' starts at data byte \(begin) but the previous tensor ends at \(expected) "
                + "(tensors must be contiguous and must not overlap); \(damaged)"
        case .trailingBytes(let path, let count):
            return "\(path): \(count) byte\(count == 1 ? "" : "s") after the last tensor; \(damaged)"

        case .missingMetadata(let path, let key):
            return "\(path): metadata lacks '\(key)'; the file was not written by dptrain or is damaged"
        case .wrongFormat(let path, let found):
            return "\(path): metadata format is '\(found)', not '\(Checkpoint.format)'; this is not a dptrain checkpoint"
        case .unsupportedVersion(let path, let found, let supported):
            return "\(path): unknown checkpoint format version '\(found)' (this dptrain reads version \(supported)); "
                + "use the dptrain that wrote it"
        case .invalidMetadata(let path, let key, let value, let expected):
            return "\(path): metadata '\(key)' is '\(value)', expected \(expected); the file is damaged"
        case .crcMismatch(let path, let part, let recorded, let computed):
            return "\(path): \(part) CRC mismatch: computed \(crcText(computed)) but the metadata records "
                + "\(recorded); the file is damaged"
        case .wrongDType(let path, let tensor, let dtype):
            return "\(path): tensor '\(tensor)' is \(dtype) but dptrain checkpoints hold F32 tensors; the file is damaged"
        case .wrongModelSpec(let path, let found, let expected):
            return "\(path): wrong model spec '\(found)' (this run trains '\(expected)')"
        case .missingTensor(let path, let name):
            return "\(path): no tensor '\(name)'; the checkpoint belongs to another model or optimizer"
        case .wrongTensorShape(let path, let name, let found, let expected):
            return "\(path): tensor '\(name)' has shape \(found) but this run needs \(expected)"

        case .writeFailed(let path, let operation, let reason):
            return "\(path): cannot \(operation) (\(reason)); earlier checkpoints are untouched, "
                + "free disk space or fix the run directory"
        case .unusableDirectory(let path, let reason):
            return "\(path): cannot use the run directory (\(reason)); check the path and its permissions"
        }
    }
}

/// `value` as `0x` and eight upper-case hex digits, the form `tensor_crc32` is stored in.
func crcText(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
