// Reading a whole file (or its first bytes) through a POSIX descriptor, for
// the readers of datasets, checkpoints and logs: one loop that retries
// interrupted reads and stops early if the file shrinks.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FileIO {
    /// Reads up to `count` bytes from `descriptor`; fewer when the file ends
    /// first. `error` is the errno of a failed read (0 when none failed).
    public static func readBytes(descriptor: Int32, count: Int) -> (bytes: [UInt8], error: Int32) {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            guard let base = buffer.baseAddress else { return }
            while initializedCount < count {
                let got = read(descriptor, base + initializedCount, count - initializedCount)
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if got == 0 { return }
                initializedCount += got
            }
        }
        return (bytes, failure)
    }
}
