import Foundation
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

    /// A connection ID, or nil when a limit is reached (the caller answers 421 4.7.0). IPv6 clients are counted
    /// per /64 (one customer's prefix), so one host cannot take a limit per address of its network.
    func acquire(ip: String) -> Int? {
        let ip = Self.limitKey(ip)
        return counts.withLock { counts in
            guard counts.total < maximumTotal, counts.perIP[ip, default: 0] < maximumPerIP else { return nil }
            counts.total += 1
            counts.perIP[ip, default: 0] += 1
            counts.lastID += 1
            return counts.lastID
        }
    }

    /// Ends the count of one session of `ip` (call exactly once per successful ``acquire(ip:)``).
    func release(ip: String) {
        let ip = Self.limitKey(ip)
        counts.withLock { counts in
            counts.total -= 1
            let remaining = counts.perIP[ip, default: 1] - 1
            counts.perIP[ip] = remaining > 0 ? remaining : nil
        }
    }

    /// Sessions currently counted for `ip` and in total.
    func current(ip: String) -> (ip: Int, total: Int) {
        let ip = Self.limitKey(ip)
        return counts.withLock { ($0.perIP[ip, default: 0], $0.total) }
    }

    /// Stress mode: open sessions reached `threshold` (a share) of the total limit.
    func isUnderStress(threshold: Double) -> Bool {
        let total = counts.withLock { $0.total }
        return Double(total) >= (Double(maximumTotal) * threshold).rounded(.up)
    }

    /// The per-IP counting key: an IPv4 address as it is; an IPv6 address reduced to its /64 prefix (an
    /// IPv4-mapped IPv6 address to its IPv4 address).
    static func limitKey(_ ip: String) -> String {
        guard ip.contains(":") else { return ip }
        var address = in6_addr()
        guard inet_pton(AF_INET6, ip, &address) == 1 else { return ip }
        let bytes = withUnsafeBytes(of: &address) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        return bytes[0..<8].map { String(format: "%02x", $0) }.joined() + "::/64"
    }
}
