/// A parsed message: the top-level entity (whose headers are the message headers) and the raw input.
/// Built only by ``MIMEParser``; a pure Swift value, no libetpan memory is referenced after parsing.
public struct MIMEMessage: Sendable, CustomStringConvertible {
    /// The top-level entity; `root.headers` are the message header fields (RFC 5322 §3.6).
    public let root: MIMEPart

    /// The message header fields.
    public var headers: MIMEHeaders { root.headers }
    /// The raw message as received.
    public var rawBytes: [UInt8] { root.source }
    /// Every part, depth first.
    public var allParts: [MIMEPart] { root.allParts }
    /// Leaf parts that are attachments (see ``MIMEPart/isAttachment``).
    public var attachments: [MIMEPart] { allParts.filter(\.isAttachment) }

    public var description: String { "MIMEMessage(\(root.source.count) bytes, \(allParts.count) parts)" }
}
