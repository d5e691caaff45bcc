public import Foundation

/// When gateway keys expire, are extended, warn and stop decrypting after a rotation (issue 20): the `[keys]`
/// lifecycle options as durations, and the pure decisions made with them.
public struct GatewayKeyPolicy: Sendable, Hashable {
    /// A new key, and an extended one, expires this long from then.
    public var lifetime: TimeInterval
    /// The expiry is extended once it is this close.
    public var renewBefore: TimeInterval
    /// After a rotation the old key still decrypts this long.
    public var overlap: TimeInterval
    /// `keys status`, the log, the metrics and `check-config` warn once the expiry is this close (30 days).
    public var warnBefore: TimeInterval = 30 * 86_400

    public init(lifetime: TimeInterval = 730 * 86_400, renewBefore: TimeInterval = 60 * 86_400,
                overlap: TimeInterval = 90 * 86_400) {
        self.lifetime = lifetime
        self.renewBefore = renewBefore
        self.overlap = overlap
    }

    public init(_ keys: BridgeConfiguration.KeysSection) {
        self.init(lifetime: TimeInterval(keys.gatewayKeyLifetimeDays) * 86_400,
                  renewBefore: TimeInterval(keys.gatewayKeyRenewDays) * 86_400,
                  overlap: TimeInterval(keys.gatewayKeyOverlapDays) * 86_400)
    }

    /// The lifetime in whole seconds, as gpg takes it.
    public var lifetimeSeconds: UInt { UInt(max(1, lifetime.rounded())) }

    /// Whether a current key expiring at `expiresAt` (nil: never) gets a new expiry at `now`. A key without an
    /// expiry gets one: clients' copies without expiry stay as they are, so nothing stops working, and from now
    /// on a key that leaks with the server stops being valid by itself once nobody extends it.
    public func needsExtension(expiresAt: Date?, now: Date) -> Bool {
        guard let expiresAt else { return true }
        return expiresAt.timeIntervalSince(now) <= renewBefore
    }

    /// Whether a key expiring at `expiresAt` is close enough to its expiry (or past it) to warn about.
    public func warns(expiresAt: Date?, now: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt.timeIntervalSince(now) <= warnBefore
    }
}
