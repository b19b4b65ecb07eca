// TensorBoardWriter: scalar curves in TensorBoard's event-file format, so
// `tensorboard --logdir RUN` shows them.
//
// An event file (`events.out.tfevents.<unix time>.<hostname>`) is a TFRecord
// file (tensorflow/core/lib/io/record_writer.cc): each record is
//   uint64 length (LE) · uint32 masked CRC-32C of those 8 bytes (LE) ·
//   data · uint32 masked CRC-32C of the data (LE).
// Each record's data is an `Event` protobuf (tensorboard/compat/proto/event.proto):
//   wall_time double = 1, step int64 = 2, file_version string = 3, summary Summary = 5;
// Summary { repeated Value value = 1 }, Value { tag string = 1, simple_value float = 2 }.
// The first event carries only wall_time and file_version "brain.Event:2".

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes scalar summaries to a TensorBoard event file.
public final class TensorBoardWriter {
    /// The event file being written.
    public let path: String
    /// Buffered events are written once this many seconds passed since the last write.
    public let flushInterval: Double
    private let file: OutputFile
    private var pending: [UInt8] = []
    private var lastWrite: Double
    private var isClosed = false

    /// Creates `directory` if needed and a new event file in it, and writes the file-version event.
    /// - Parameter flushInterval: seconds events may wait in memory before they are written (0: write each at once).
    public init(directory: String, flushInterval: Double = 5) throws(MetricsError) {
        do {
            try OutputFile.makeDirectories(directory)
        } catch {
            throw .cannotCreateDirectory(path: directory, reason: error.reason)
        }
        let now = TensorBoardWriter.currentTime()
        let base = directory + "/events.out.tfevents.\(Int(now)).\(TensorBoardWriter.hostName())"
        var candidate = base
        var opened: OutputFile?
        // Two writers started in the same second get distinct files instead of sharing one.
        for attempt in 1...100 {
            do {
                opened = try OutputFile(path: candidate, mode: .createNew)
                break
            } catch where error.code == EEXIST {
                candidate = base + ".\(attempt)"
            } catch {
                throw .cannotOpen(path: candidate, reason: error.reason)
            }
        }
        guard let file = opened else { throw .cannotOpen(path: base, reason: "100 event files of this second exist") }
        self.file = file
        self.path = candidate
        self.flushInterval = flushInterval
        self.lastWrite = now
        appendRecord(ProtobufEncoder.message { event in
            event.double(1, now)
            event.string(3, "brain.Event:2")
        })
        try flush()
    }

    deinit {
        try? close()
    }

    /// Records `value` under `tag` (e.g. `train/loss`) at `step`, stored as a float32
    /// (TensorBoard's simple_value).
    /// - Parameter wallTime: seconds since 1970; now if nil.
    public func addScalar(tag: String, value: Double, step: Int, wallTime: Double? = nil) throws(MetricsError) {
        try addScalars([(tag, value)], step: step, wallTime: wallTime)
    }

    /// Records several scalars of one step in one event.
    /// - Parameter wallTime: seconds since 1970; now if nil.
    public func addScalars(_ scalars: [(tag: String, value: Double)], step: Int, wallTime: Double? = nil) throws(MetricsError) {
        precondition(!isClosed, "TensorBoardWriter \(path): addScalars after close")
        let now = TensorBoardWriter.currentTime()
        appendRecord(ProtobufEncoder.message { event in
            event.double(1, wallTime ?? now)
            event.integer(2, step)
            event.message(5) { summary in
                for scalar in scalars {
                    summary.message(1) { value in
                        value.string(1, scalar.tag)
                        value.float(2, Float(scalar.value))
                    }
                }
            }
        })
        if pending.count >= 1 << 16 || now - lastWrite >= flushInterval { try flush() }
    }

    /// Writes every buffered event to the file.
    public func flush() throws(MetricsError) {
        guard !pending.isEmpty else { return }
        do {
            try file.write(pending)
        } catch {
            throw .cannotWrite(path: path, reason: error.reason)
        }
        pending.removeAll(keepingCapacity: true)
        lastWrite = TensorBoardWriter.currentTime()
    }

    /// Flushes and closes the file; the writer takes no more events.
    public func close() throws(MetricsError) {
        guard !isClosed else { return }
        isClosed = true
        try flush()
        do {
            try file.close()
        } catch {
            throw .cannotWrite(path: path, reason: error.reason)
        }
    }

    /// Appends one TFRecord holding `data` to the pending bytes.
    private func appendRecord(_ data: [UInt8]) {
        var header: [UInt8] = []
        let length = UInt64(data.count)
        for shift in stride(from: 0, to: 64, by: 8) { header.append(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
        pending += header
        appendLittleEndian(CRC32C.maskedChecksum(header))
        pending += data
        appendLittleEndian(CRC32C.maskedChecksum(data))
    }

    private func appendLittleEndian(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { pending.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// Seconds since 1970 with sub-second resolution.
    private static func currentTime() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    /// This machine's host name, with `/` (impossible in a file name) replaced.
    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name.replacingSlashes()
    }
}

extension String {
    fileprivate func replacingSlashes() -> String {
        String(map { $0 == "/" ? "_" : $0 })
    }
}
