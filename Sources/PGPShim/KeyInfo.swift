/// A snapshot of a key in the keyring, copied out of gpgme's `gpgme_key_t` so it outlives the operation.
public struct KeyInfo: Sendable, Hashable, CustomStringConvertible {
    public let fingerprint: KeyFingerprint
    /// The e-mail addresses of the key's user IDs, lower-cased (personal data: not in `description`).
    public let emails: [String]
    /// The key's valid user IDs as written (at most 32, each cut at 512 bytes; personal data: not in
    /// `description`), for showing who signed beside a verdict.
    public let userIDs: [String]
    /// The 16-hex-digit key IDs of the primary key and every subkey (upper-case), to match key packets.
    public let keyIDs: [String]
    public let canEncrypt: Bool
    public let canSign: Bool
    public let isRevoked: Bool
    public let isExpired: Bool
    public let isDisabled: Bool
    public let isInvalid: Bool
    public let hasSecretKey: Bool
    /// Seconds since 1970 when the primary key expires; nil for no expiry.
    public let expiresAt: Int?
    /// Seconds since 1970 when the primary key was created; nil if gpg does not know.
    public var createdAt: Int? = nil

    /// Usable for encrypting a reply to it right now.
    public var isUsableForEncryption: Bool { canEncrypt && !isRevoked && !isExpired && !isDisabled && !isInvalid }

    public var description: String {
        "KeyInfo(\(fingerprint), encrypt: \(canEncrypt), sign: \(canSign), revoked: \(isRevoked), "
            + "expired: \(isExpired), secret: \(hasSecretKey))"
    }
}

/// What an import did (from gpgme's `gpgme_import_result_t`).
public struct ImportSummary: Sendable, Hashable {
    /// Keys found in the data.
    public let considered: Int
    /// Keys that were new.
    public let imported: Int
    /// Keys that were already present and unchanged.
    public let unchanged: Int
    /// Keys not imported (e.g. no user ID, or invalid).
    public let notImported: Int
    /// Fingerprints of every key gpg reported on, imported or unchanged.
    public let fingerprints: [KeyFingerprint]
}
