// FloatBuffer: a fixed-size, 64-byte-aligned block of Float32 with identity.
//
// Big storage (the parameter arena, gradients, optimizer state, activations,
// datasets) lives in FloatBuffers. It is a final class on purpose: an
// accidental copy of a 100 MB array is a bug, not a convenience. Kernels
// take `pointer` (or a scoped buffer pointer) and never subscript in loops.

public final class FloatBuffer {
    /// Number of Float elements.
    public let count: Int
    /// Start of the storage; valid for `count` elements while the buffer lives.
    public let pointer: UnsafeMutablePointer<Float>
    /// Whether `deinit` frees the storage (false for memory owned elsewhere).
    private let ownsStorage: Bool

    /// Allocates `count` floats aligned to 64 bytes, set to zero.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative, got \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        self.ownsStorage = true
    }

    /// A buffer over `count` floats that something else owns and keeps
    /// alive longer than this buffer (such as a node-shared MPI window).
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative, got \(count)")
        self.pointer = pointer
        self.count = count
        self.ownsStorage = false
    }

    /// Allocates a buffer holding a copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { if ownsStorage { UnsafeMutableRawPointer(pointer).deallocate() } }

    /// Element `index`; for tests and small bookkeeping, not for inner loops.
    public subscript(index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "FloatBuffer index \(index) out of 0..<\(count)")
            return pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "FloatBuffer index \(index) out of 0..<\(count)")
            pointer[index] = newValue
        }
    }

    /// The elements as an array (allocates; for tests and checkpoints).
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Runs `body` with the storage as a mutable buffer pointer.
    public func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: pointer, count: count))
    }

    /// Runs `body` with the storage as raw little-endian bytes (x86-64 and arm64 are little-endian).
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count * MemoryLayout<Float>.stride))
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        pointer.update(repeating: value, count: count)
    }

    /// Copies all elements of `other`, which must have the same count.
    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "FloatBuffer copy: \(other.count) elements into \(count)")
        pointer.update(from: other.pointer, count: count)
    }
}
