// Security: bounds work that an anonymous client can start (bcrypt runs of the login form), so a flood is refused
// quickly instead of queueing without end.

import Synchronization

/// Runs at most `limit` operations at once and refuses the rest at once (no queue).
///
/// ```swift
/// let checks = AdmissionLimit(limit: 8)
/// guard let matches = try await checks.run({ try await hasher.verify(password, against: hash) }) else {
///     // 503: too many at once
/// }
/// ```
final class AdmissionLimit: Sendable {
    /// The most operations running at once.
    let limit: Int
    private let running = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// `body`'s result, or nil without running it if `limit` operations are already running.
    func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T? {
        let count = running.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        defer { running.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
        guard count <= limit else { return nil }
        return try await body()
    }
}
