// SingleProcessCommunicator: a world of one rank, without MPI. Every
// reduction over one rank is that rank's own buffer, so every call leaves its
// buffer as it is.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The only rank of a job that runs without MPI.
public final class SingleProcessCommunicator: Communicator {
    /// Always 0.
    public var rank: Int { 0 }
    /// Always 1.
    public var size: Int { 1 }

    public init() {}

    /// Returns at once.
    public func barrier() {}

    /// Leaves `bytes` as they are; `root` must be 0.
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        precondition(root == 0, "broadcast root \(root) is outside a world of one rank")
    }

    /// Leaves `values` as they are.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}

    /// Leaves `values` as they are.
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}

    /// Leaves `values` as they are.
    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Int64>) {}

    /// Leaves `values` as they are.
    public func allreduceMin(_ values: UnsafeMutableBufferPointer<Int64>) {}

    /// Ends the process with exit status `code`.
    public func abort(code: Int32) -> Never {
        exit(code)
    }
}
