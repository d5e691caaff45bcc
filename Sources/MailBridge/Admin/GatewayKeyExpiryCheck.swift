public import Foundation
import PGPShim

#if canImport(Glibc)
import Glibc
#endif

/// `mailbridge check-config`'s look at the gateway keys (issue 20): a warning for every mailbox whose newest
/// usable gateway key expires within 30 days or has expired. Reads the keyring only (no master key): only when
/// the GnuPG home exists and belongs to the user running the check, since gpg run by another user (root) would
/// leave files in the home that the gateway's user cannot write.
public enum GatewayKeyExpiryCheck {
    /// The warnings (empty when nothing is close to expiry); a note instead when the keyring was not read.
    public static func warnings(_ configuration: BridgeConfiguration, now: Date = Date()) async -> [String] {
        let home = configuration.keys.gnupgHome.string
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: home),
            let owner = attributes[.ownerAccountID] as? NSNumber
        else { return [] }
        guard owner.uint32Value == getuid() else {
            return ["note: gateway key expiry not checked (run check-config as the owner of \(home))"]
        }
        let policy = GatewayKeyPolicy(configuration.keys)
        var warnings: [String] = []
        let pgp: PGPService
        do {
            pgp = try PGPService(configuration: PGPConfiguration(homeDirectory: URL(fileURLWithPath: home)))
        } catch {
            return ["note: gateway key expiry not checked (\(type(of: error)))"]
        }
        do {
            for mailbox in configuration.mailboxes {
                var newest: KeyInfo?
                for key in try await pgp.keys(forEmail: mailbox.address.canonical)
                where !key.isRevoked && (key.canEncrypt || key.isExpired) {
                    guard try await pgp.key(key.fingerprint, secret: true) != nil else { continue }
                    if (key.createdAt ?? 0) >= (newest?.createdAt ?? 0) { newest = key }
                }
                guard let newest, let expires = newest.expiresAt else { continue }
                let date = Date(timeIntervalSince1970: TimeInterval(expires))
                if policy.warns(expiresAt: date, now: now) {
                    let days = Int(date.timeIntervalSince(now) / 86_400)
                    warnings.append("warning: the gateway key of \(mailbox.address.unredactedDescription) "
                                    + (days < 0 ? "has expired" : "expires in \(days) day(s)")
                                    + " (the running daemon extends it; see `mailbridge keys status`)")
                }
            }
        } catch {
            warnings = ["note: gateway key expiry not checked (\(type(of: error)))"]
        }
        try? await pgp.shutdown()
        return warnings
    }
}
