/// The content of a ``MIMEPart``: a decoded leaf, children of a multipart, or an encapsulated message.
public indirect enum MIMEBody: Sendable {
    /// A leaf; the octets after transfer decoding.
    case single(decoded: [UInt8])
    /// `multipart/*` children in order (RFC 2046 §5.1).
    case multipart([MIMEPart])
    /// `message/rfc822` (RFC 2046 §5.2.1); the inner message's top-level entity.
    case message(MIMEPart)
}
