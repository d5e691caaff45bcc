/// Why a message is quarantined. Codes only; no content.
public enum QuarantineReason: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Text (other than whitespace) before or after the armor block of an inline message.
    case textAroundArmor
    /// More than one `BEGIN PGP MESSAGE` block.
    case multipleArmorBlocks
    /// `BEGIN PGP MESSAGE` without a matching `END PGP MESSAGE`, or non-ASCII inside the block.
    case malformedArmor
    /// Armor inside an HTML part.
    case armorInHTML
    /// Encrypted content below the top level: armor or `multipart/encrypted` inside multipart/mixed,
    /// alternative, an attachment or an encapsulated message.
    case encryptedPartNested
    /// An attachment that looks like binary OpenPGP (`.pgp`/`.gpg`, `application/pgp-encrypted`).
    case encryptedAttachment
    /// S/MIME: `application/(x-)pkcs7-mime`, or a pkcs7 signature around encrypted content.
    case sMIME
    /// `multipart/encrypted` that is not exactly RFC 3156 §4 (part count, types, Version, payload).
    case malformedMultipartEncrypted
    /// `multipart/encrypted` with a protocol other than `application/pgp-encrypted`.
    case unsupportedEncryptionProtocol
    /// `message/partial` fragments (RFC 2046 §5.2.2) cannot be checked as a whole.
    case messagePartial

    public var description: String { rawValue }
}
