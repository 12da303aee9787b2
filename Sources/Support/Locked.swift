import Foundation

/// A value guarded by a pthread mutex (`NSLock`), with the `withLock` shape of
/// `Synchronization.Mutex`.
///
/// Why not `Mutex`: on Linux it locks with atomics and futex calls inside the prebuilt
/// Synchronization library, which ThreadSanitizer does not see, so TSan reported the state it
/// guards as racing (CI's TSan step, `ProgressReporter.advance` from several threads). TSan
/// intercepts pthread mutexes, so this lock is both correct and checkable.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
