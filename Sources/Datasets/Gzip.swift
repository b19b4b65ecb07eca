// Gzip: inflates a gzip file (RFC 1952) held in memory, with zlib.
//
// windowBits 15 + 32 lets zlib detect the gzip (or zlib) header itself. The
// output is sized from the gzip trailer's ISIZE field (the uncompressed length
// modulo 2^32, RFC 1952 section 2.3.1) when that value is plausible, and
// doubled when it turns out too small. Concatenated gzip members, which
// gzip(1) produces with `cat a.gz b.gz`, are inflated one after another.

import CZlib

/// Decompression of gzip data for the readers.
enum Gzip {
    /// Deflate never compresses better than about 1032:1 (RFC 1951 block limits),
    /// so an ISIZE hint above this ratio is a damaged trailer, not a size to allocate.
    private static let maximumRatio = 1032
    /// zlib counts bytes in 32-bit fields; larger buffers are fed in pieces of this size.
    private static let pieceSize = 1 << 30

    /// The decompressed content of `compressed`; `path` is only for error messages.
    static func decompress(_ compressed: [UInt8], path: String) throws(DatasetError) -> [UInt8] {
        var stream = z_stream()
        let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw .corruptGzip(path: path, detail: message(of: stream, status: status)) }
        defer { inflateEnd(&stream) }

        var output = [UInt8](repeating: 0, count: initialCapacity(compressed))
        var produced = 0
        var consumed = 0
        var outcome: DatasetError?

        compressed.withUnsafeBytes { input in
            guard let inputBase = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            while true {
                if produced == output.count {
                    let (doubled, overflow) = output.count.multipliedReportingOverflow(by: 2)
                    if overflow { outcome = .corruptGzip(path: path, detail: "output too large"); return }
                    output.append(contentsOf: repeatElement(0, count: doubled - output.count))
                }
                let before = (consumed, produced)
                let inputPiece = min(input.count - consumed, pieceSize)
                stream.next_in = UnsafeMutablePointer(mutating: inputBase + consumed)
                stream.avail_in = UInt32(inputPiece)

                let outputPiece = min(output.count - produced, pieceSize)
                let result: Int32 = output.withUnsafeMutableBufferPointer { buffer in
                    guard let outputBase = buffer.baseAddress else { return Z_MEM_ERROR }
                    stream.next_out = outputBase + produced
                    stream.avail_out = UInt32(outputPiece)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                consumed += inputPiece - Int(stream.avail_in)
                produced += outputPiece - Int(stream.avail_out)

                let progressed = before != (consumed, produced)
                switch result {
                case Z_OK where progressed:
                    continue
                case Z_STREAM_END:
                    // Another member follows only if the next bytes are a gzip header;
                    // anything else after the trailer is ignored, as gzip(1) does.
                    let remaining = input.count - consumed
                    if remaining >= 2 && inputBase[consumed] == 0x1f && inputBase[consumed + 1] == 0x8b {
                        inflateReset(&stream)
                        continue
                    }
                    return
                case Z_OK, Z_BUF_ERROR:
                    // No progress: either the output is full (grow it) or the input ran out.
                    if produced == output.count { continue }
                    if consumed == input.count { outcome = .truncatedGzip(path: path); return }
                    outcome = .corruptGzip(path: path, detail: "inflate made no progress")
                    return
                default:
                    outcome = .corruptGzip(path: path, detail: message(of: stream, status: result))
                    return
                }
            }
        }
        if let outcome { throw outcome }
        output.removeLast(output.count - produced)
        return output
    }

    /// A first output size: the trailer's ISIZE if plausible, else four times the input.
    private static func initialCapacity(_ compressed: [UInt8]) -> Int {
        let fallback = max(compressed.count.multipliedReportingOverflow(by: 4).partialValue, 1 << 16)
        guard compressed.count >= 18 else { return fallback }  // 10-byte header + 8-byte trailer
        let end = compressed.count
        let size = Int(compressed[end - 4]) | Int(compressed[end - 3]) << 8
            | Int(compressed[end - 2]) << 16 | Int(compressed[end - 1]) << 24
        let limit = compressed.count.multipliedReportingOverflow(by: maximumRatio)
        guard size > 0, limit.overflow || size <= limit.partialValue else { return fallback }
        // One spare byte lets inflate read the trailer and report the end without growing the buffer.
        return size + 1
    }

    /// zlib's message for a failed call, or a description of its status code.
    private static func message(of stream: z_stream, status: Int32) -> String {
        if let text = stream.msg { return String(cString: text) }
        switch status {
        case Z_MEM_ERROR: return "out of memory"
        case Z_VERSION_ERROR: return "zlib version mismatch"
        case Z_NEED_DICT: return "needs a preset dictionary"
        case Z_STREAM_ERROR: return "inconsistent stream state"
        default: return "zlib status \(status)"
        }
    }
}
