// ONNXExportError: what can go wrong writing an ONNX file, as a typed error
// with a one-line message (DESIGN.md 8).

/// A failure to write an exported model, with a message naming the path and the fix.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    /// The file (or its temporary sibling) could not be written or renamed into place.
    case cannotWrite(path: String, reason: String)

    /// The message, one line: the path, what is wrong, what to do.
    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write the ONNX model (\(reason)); check the directory exists and is writable"
        }
    }
}
