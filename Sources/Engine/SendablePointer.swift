// The one place where dptrain steps around Swift's Sendable checking.
//
// The thread pool hands a non-escaping closure to its worker threads and
// returns only after every worker has finished with it; each task index is run
// exactly once, and callers give tasks disjoint output ranges. Under that
// discipline the closure and the pointers it captures are never used after
// the call or from two tasks on the same elements, which is what Sendable
// would otherwise guard.

/// Carries a value across threads for the duration of a `ThreadPool` call.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}
