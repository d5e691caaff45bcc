import Synchronization

/// Counts open SMTP sessions in total and per client IP, and hands out connection IDs.
///
/// A session counts from accept until its dialogue ends (QUIT answered, timeout, error), not until the socket has
/// finished closing: a client that says QUIT and reconnects at once must not find its old session still counted.
/// Synchronous (one lock, no actor hop) for the same reason.
final class ConnectionLimiter: Sendable {
    private struct Counts {
        var perIP: [String: Int] = [:]
        var total = 0
        var lastID = 0
    }

    private let maximumPerIP: Int
    private let maximumTotal: Int
    private let counts = Mutex(Counts())

    init(maximumPerIP: Int, maximumTotal: Int) {
        self.maximumPerIP = maximumPerIP
        self.maximumTotal = maximumTotal
    }

    /// A connection ID, or nil when a limit is reached (the caller answers 421 4.7.0).
    func acquire(ip: String) -> Int? {
        counts.withLock { counts in
            guard counts.total < maximumTotal, counts.perIP[ip, default: 0] < maximumPerIP else { return nil }
            counts.total += 1
            counts.perIP[ip, default: 0] += 1
            counts.lastID += 1
            return counts.lastID
        }
    }

    /// Ends the count of one session of `ip` (call exactly once per successful ``acquire(ip:)``).
    func release(ip: String) {
        counts.withLock { counts in
            counts.total -= 1
            let remaining = counts.perIP[ip, default: 1] - 1
            counts.perIP[ip] = remaining > 0 ? remaining : nil
        }
    }

    /// Sessions currently counted for `ip` and in total.
    func current(ip: String) -> (ip: Int, total: Int) {
        counts.withLock { ($0.perIP[ip, default: 0], $0.total) }
    }
}
