public import Foundation
import Logging
import PGPShim
import ThreadStore

/// `mailbridge keys status|rotate|revoke|revocation` (issue 20): the gateway keys' lifecycle from the command line.
public enum GatewayKeysAdmin {
    /// Every recorded gateway key: mailbox, fingerprint, creation, expiry and state; keys within 30 days of their
    /// expiry are marked, and the command exits 1 when a current key is (so monitoring can run it).
    public static func status(_ installation: OpenedInstallation, json: Bool, now: Date = Date()) async throws
        -> AdminResult
    {
        let rows = try await lifecycle(installation).status()
        let warned = rows.filter(\.expiringSoon)
        let output: String
        if json {
            output = try AdminSession.json(rows.map(StatusLine.init))
        } else {
            var lines = ["MAILBOX\tFINGERPRINT\tCREATED\tEXPIRES\tSTATE"]
            for row in rows {
                lines.append([row.record.mailbox, row.record.fingerprint.hex, day(row.record.createdAt),
                              row.expiresAt.map(day) ?? "never", stateText(row)].joined(separator: "\t"))
            }
            output = lines.joined(separator: "\n")
        }
        let warning = warned.isEmpty ? "" : "warning: \(warned.count) current gateway key(s) expire within 30 days"
            + " (the daemon extends them; is it running?)"
        return AdminResult(status: warned.isEmpty ? .success : .failure, output: output, errorOutput: warning)
    }

    /// Makes a new key current for `mailbox`; the old one decrypts for the configured overlap.
    public static func rotate(_ installation: OpenedInstallation, mailbox: String) async throws -> AdminResult {
        let address = try KeysAdmin.mailboxes(installation, mailbox)[0].address
        let lifecycle = lifecycle(installation)
        let fingerprint = try await lifecycle.rotate(address)
        return AdminResult(output: """
            new current key \(fingerprint.hex); the previous key decrypts for \
            \(Int(lifecycle.policy.overlap / 86_400)) more days.
            A running daemon takes the new key within a minute (WKD, help page, Autocrypt, replies).
            Publish it where WKD is served by another web server: mailbridge keys wkd --out DIR
            """)
    }

    /// Revokes the current key of `mailbox` (or `key`, one of its keys) and publishes the revocation.
    public static func revoke(_ installation: OpenedInstallation, mailbox: String, key: String?,
                              reason: String) async throws -> AdminResult {
        let address = try KeysAdmin.mailboxes(installation, mailbox)[0].address
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 1000 else {
            throw AdminUsageError("--reason must be a text of 1 to 1000 bytes")
        }
        let fingerprint = try key.map { text in
            guard let value = try? KeyFingerprint(text) else { throw AdminUsageError("--key is not a fingerprint") }
            return value
        }
        let (revoked, replacement) = try await lifecycle(installation).revoke(address, fingerprint: fingerprint,
                                                                               reason: trimmed)
        var lines = ["revoked \(revoked.hex)"]
        if let replacement { lines.append("new current key \(replacement.hex)") }
        lines.append("A running daemon takes the change within a minute; WKD now carries the revocation.")
        lines.append("Publish it where WKD is served by another web server: mailbridge keys wkd --out DIR")
        return AdminResult(output: lines.joined(separator: "\n"))
    }

    /// The armored revocation certificate of the current key of `mailbox` (or of `key`), for keeping offline.
    public static func revocation(_ installation: OpenedInstallation, mailbox: String, key: String?) async throws
        -> AdminResult
    {
        let entry = try KeysAdmin.mailboxes(installation, mailbox)[0]
        let fingerprint: KeyFingerprint
        if let key {
            guard let value = try? KeyFingerprint(key), entry.ownKeys.contains(value) else {
                throw AdminUsageError("--key is not a gateway key of this mailbox")
            }
            fingerprint = value
        } else {
            fingerprint = entry.gatewayKey
        }
        guard let certificate = try await lifecycle(installation).revocationCertificate(fingerprint) else {
            return .failure(.failure, "no revocation certificate is kept for this key")
        }
        return AdminResult(output: String(decoding: certificate, as: UTF8.self))
    }

    static func lifecycle(_ installation: OpenedInstallation) -> GatewayKeyLifecycle {
        installation.gatewayKeyLifecycle(logger: Logger(label: "mailbridge.keys"))
    }

    /// The state, with when an overlap ends and a mark for a current key close to its expiry.
    private static func stateText(_ row: GatewayKeyStatus) -> String {
        var text = row.record.state.description
        if row.record.state == .overlap, let until = row.record.overlapUntil {
            text += " (decrypts until \(day(until)))"
        }
        if row.expiringSoon { text += " (expires within 30 days)" }
        return text
    }

    private static func day(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: date)
    }

    /// One key as `keys status --json` prints it: the text of the output, so the fingerprint is its hex.
    struct StatusLine: Encodable {
        var mailbox: String
        var fingerprint: String
        var created: Date
        var expires: Date?
        var state: String
        var expiringSoon: Bool
        var overlapUntil: Date?
        var retired: Date?
        var revoked: Date?
        var revocationCertificateKept: Bool

        init(_ row: GatewayKeyStatus) {
            mailbox = row.record.mailbox
            fingerprint = row.record.fingerprint.hex
            created = row.record.createdAt
            expires = row.expiresAt
            state = row.record.state.description
            expiringSoon = row.expiringSoon
            overlapUntil = row.record.overlapUntil
            retired = row.record.retiredAt
            revoked = row.record.revokedAt
            revocationCertificateKept = row.record.hasRevocationCertificate
        }
    }
}
