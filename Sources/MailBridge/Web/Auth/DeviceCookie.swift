// Security: the device cookie is attacker-controlled input (bounded to 160 bytes, parsed by splitting on dots,
// checked with a constant-time MAC comparison). It proves only that this browser completed a full login to an
// account, under its current password, before; it authenticates nothing. Its one effect: a login from such a
// browser is limited per device instead of per user name, so strangers who lock a counsellor's name out (by failing
// on purpose) do not lock out the counsellor's own browser. The MAC binds the account ID and the time its password
// was last set, so a password change or reset, or a deleted and re-created name, revokes every earlier device
// cookie. The cookie holds the issue time, a random ID and the MAC; never a name or ID.

import Foundation
import ThreadStore

/// A browser in which an account completed a full login (password and second factor) before.
///
/// The value is `1.<issued, Unix seconds>.<32 hex ID>.<64 hex HMAC-SHA256>`, the MAC taken over the account ID, the
/// time its password was set, the issue time and the ID under a key of its own (``ThreadStore/webDeviceMAC(_:)``).
/// Stateless: nothing is stored; a cookie is valid for ``lifetime`` and renewed at every full login.
///
/// ```swift
/// let value = DeviceCookie.issue(for: account, now: now, mac: store.webDeviceMAC)
/// DeviceCookie(value, account: account, now: now, mac: store.webDeviceMAC)?.id   // the same 32 hex ID
/// ```
struct DeviceCookie: Sendable, Hashable {
    /// How long a device cookie is accepted after its issue (180 days).
    static let lifetime: TimeInterval = 180 * 24 * 60 * 60
    /// Longest value looked at (the real ones have 1 + 1 + 10 + 1 + 32 + 1 + 64 characters).
    static let maximumLength = 160

    /// The random ID: the rate-limit key of this browser.
    let id: String

    /// The device of `value` if its MAC matches `account` (its ID and current password) and it is younger than
    /// ``lifetime`` at `now`.
    init?(_ value: String, account: Account, now: Date, mac: (Data) -> Data) {
        guard value.utf8.count <= Self.maximumLength else { return nil }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "1", let issued = Int64(parts[1]), issued >= 0,
            parts[2].utf8.count == 32, parts[2].allSatisfy(\.isHexDigit)
        else { return nil }
        let age = now.timeIntervalSince1970 - TimeInterval(issued)
        // A minute of clock skew in the future is tolerated; older than the lifetime is not.
        guard age > -60, age < Self.lifetime else { return nil }
        let expected = Self.mac(account: account, issued: issued, id: String(parts[2]), mac: mac)
        guard ConstantTime.equals(String(parts[3]), expected) else { return nil }
        id = String(parts[2])
    }

    /// A new cookie value for `account`, issued at `now` with a random ID.
    static func issue(for account: Account, now: Date, mac: (Data) -> Data) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<2).map { _ in hex(generator.next() as UInt64) }.joined()
        let issued = Int64(now.timeIntervalSince1970.rounded(.down))
        return "1.\(issued).\(id).\(Self.mac(account: account, issued: issued, id: id, mac: mac))"
    }

    /// Hex of the MAC over a domain label, the account ID, the time its password was set (milliseconds), the issue
    /// time and the ID (NUL-separated; none of them can contain NUL).
    private static func mac(account: Account, issued: Int64, id: String, mac: (Data) -> Data) -> String {
        let message = [
            "mailbridge web device v1", account.id.unredactedDescription, String(account.passwordEpoch),
            String(issued), id,
        ]
            .joined(separator: "\0")
        return mac(Data(message.utf8)).map { hex(UInt64($0), width: 2) }.joined()
    }

    private static func hex(_ value: UInt64, width: Int = 16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
