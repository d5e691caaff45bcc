/// Header fields protected by encryption (draft-autocrypt-lamps-protected-headers §2): read from the top-level
/// entity of a *decrypted* inner message, and only when that entity is marked `protected-headers="v1"`.
/// Unmarked inner headers are ignored, so an attacker cannot plant a "protected" subject outside the
/// ciphertext or in a nested part. `description` shows which fields are present, never their values.
public struct ProtectedHeaders: Sendable, Hashable, CustomStringConvertible {
    /// The protected Subject, RFC 2047-decoded.
    public let subject: String?
    /// The protected From field (raw unfolded value; use ``SenderIdentity`` on ``headers`` for a mailbox).
    public let headers: MIMEHeaders

    /// Nil unless `inner.root` carries `protected-headers="v1"` (case-insensitive value).
    public init?(decryptedInner inner: MIMEMessage) {
        guard inner.root.contentType.parameters["protected-headers"]?.lowercased() == "v1" else { return nil }
        headers = inner.headers
        subject = inner.headers.first("Subject")?.decodedValue
    }

    public var description: String { "ProtectedHeaders(subject: \(subject == nil ? "no" : "yes"))" }
}
