/// What kind of message this is, for the pipeline's one decision: decrypt, redirect, or quarantine.
/// `description` shows the case and sizes only.
public enum MessageShape: Sendable, Hashable, CustomStringConvertible {
    /// Top-level RFC 3156 §4 `multipart/encrypted`; the payload is the decoded second (octet-stream) part.
    case pgpMIME(encryptedPayload: [UInt8])
    /// A single `text/plain` body that is exactly one ASCII-armored OpenPGP message (RFC 4880 §6.2).
    case inlinePGP(armored: [UInt8])
    /// Ordinary mail without encryption markers.
    case plain
    /// Mixed, partial or suspicious encryption: not decrypted into a thread.
    case quarantine(QuarantineReason)

    public var description: String {
        switch self {
        case .pgpMIME(let payload): "pgpMIME(\(payload.count) bytes)"
        case .inlinePGP(let armored): "inlinePGP(\(armored.count) bytes)"
        case .plain: "plain"
        case .quarantine(let reason): "quarantine(\(reason))"
        }
    }
}
