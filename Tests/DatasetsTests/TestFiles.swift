// Helpers for the Datasets tests: temporary directories, IDX encoding,
// gzip compression through zlib, and capturing a DatasetError's message.

import CZlib
import Datasets
import Foundation

/// A fresh directory under the system's temporary directory, deleted with the object.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "/dptrain-datasets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to the file `name` in this directory and returns its path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Writes `text` as UTF-8 to the file `name` in this directory and returns its path.
    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        try write(Array(text.utf8), to: name)
    }
}

/// An IDX file: magic 0x00 0x00 type rank, big-endian dimensions, then `payload` as given.
func idxFile(type: UInt8, dimensions: [Int], payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
    for size in dimensions { bytes += bigEndian(UInt32(size)) }
    return bytes + payload
}

/// An IDX uint8 file holding `values` with the given dimensions.
func idxUInt8(dimensions: [Int], values: [UInt8]) -> [UInt8] {
    idxFile(type: 0x08, dimensions: dimensions, payload: values)
}

func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

func bigEndian(_ value: UInt64) -> [UInt8] {
    bigEndian(UInt32(value >> 32)) + bigEndian(UInt32(value & 0xFFFF_FFFF))
}

/// `bytes` compressed as one gzip member (RFC 1952) by zlib's deflate.
func gzipped(_ bytes: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    // windowBits 15 + 16 asks zlib for a gzip header and trailer instead of a zlib one.
    let status = deflateInit2_(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK, "deflateInit2_ failed: \(status)")
    defer { deflateEnd(&stream) }
    var input = bytes
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
    let result: Int32 = input.withUnsafeMutableBufferPointer { source in
        output.withUnsafeMutableBufferPointer { target in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            stream.next_out = target.baseAddress
            stream.avail_out = UInt32(target.count)
            return deflate(&stream, Z_FINISH)
        }
    }
    precondition(result == Z_STREAM_END, "deflate did not finish: \(result)")
    return Array(output.prefix(Int(stream.total_out)))
}

/// The message of the DatasetError `body` throws, or nil if it returns.
func errorMessage<Result>(_ body: () throws(DatasetError) -> Result) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.description
    }
}

/// The root of the package, found from this file's path.
let packageRoot: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
