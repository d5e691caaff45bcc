import Dispatch

/// Runs blocking work (a child process: gpg, Python, sqlite3, a browser) on a dispatch thread, so it does not hold
/// one of the few cooperative threads that servers under test and timing-sensitive tests running beside it need.
public func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
