public import Foundation
public import MailValues

/// Where a gateway key is in its life (issue 20). Stored as the raw value.
public enum GatewayKeyState: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The key clients encrypt to: published (WKD, help page, Autocrypt) and signing replies.
    case current = 0
    /// Replaced by a newer key; still decrypts mail until ``GatewayKeyRecord/overlapUntil``, never signs.
    case overlap = 1
    /// Past its overlap: mail encrypted to it is rejected (`notForUs`).
    case retired = 2
    /// Revoked (compromised or lost): decrypts nothing, signs nothing; its revocation is published through WKD.
    case revoked = 3

    public var description: String {
        switch self {
        case .current: "current"
        case .overlap: "overlap"
        case .retired: "retired"
        case .revoked: "revoked"
        }
    }
}

/// One gateway key of a counselling mailbox as the store records it. No secret material; the revocation
/// certificate and the revocation reason are read separately (they are sealed).
public struct GatewayKeyRecord: Sendable, Hashable, CustomStringConvertible {
    /// The primary key fingerprint (stored as its upper-case hex, 40 or 64 digits).
    public var fingerprint: KeyFingerprint
    /// The mailbox's canonical address (``EmailAddress/canonical``; configuration, not client data): a matching
    /// key, kept as text because the daemon keys its mailboxes by it.
    public var mailbox: String
    public var state: GatewayKeyState
    public var createdAt: Date
    /// The primary key's expiry as last recorded (the keyring is authoritative); nil for none.
    public var expiresAt: Date?
    /// For ``GatewayKeyState/overlap``: when the key stops decrypting.
    public var overlapUntil: Date?
    public var retiredAt: Date?
    public var revokedAt: Date?
    /// Whether a revocation certificate is kept for the key.
    public var hasRevocationCertificate: Bool

    public init(fingerprint: KeyFingerprint, mailbox: String, state: GatewayKeyState, createdAt: Date, expiresAt: Date?,
                overlapUntil: Date? = nil, retiredAt: Date? = nil, revokedAt: Date? = nil,
                hasRevocationCertificate: Bool = false) {
        self.fingerprint = fingerprint
        self.mailbox = mailbox
        self.state = state
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.overlapUntil = overlapUntil
        self.retiredAt = retiredAt
        self.revokedAt = revokedAt
        self.hasRevocationCertificate = hasRevocationCertificate
    }

    /// Names the key: gateway key fingerprints are public (WKD, help page).
    public var description: String { "GatewayKeyRecord(\(fingerprint.hex), \(state))" }
}

/// A gateway key to record (its fingerprint, creation and expiry as the keyring reports them, and the
/// revocation certificate gpg made with it).
public struct NewGatewayKey: Sendable {
    public var fingerprint: KeyFingerprint
    /// The mailbox's canonical address (``EmailAddress/canonical``).
    public var mailbox: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var revocationCertificate: Data?

    public init(fingerprint: KeyFingerprint, mailbox: String, createdAt: Date, expiresAt: Date?,
                revocationCertificate: Data?) {
        self.fingerprint = fingerprint
        self.mailbox = mailbox
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revocationCertificate = revocationCertificate
    }
}
