/// A media type with parameters (RFC 2045 §5, RFC 2046). Type and subtype are lower-cased.
public struct ContentType: Sendable, Hashable, CustomStringConvertible {
    public let type: String
    public let subtype: String
    public let parameters: MIMEParameters

    public init(type: String, subtype: String, parameters: MIMEParameters = .empty) {
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters
    }

    /// `type/subtype`.
    public var mimeType: String { "\(type)/\(subtype)" }
    public var isMultipart: Bool { type == "multipart" }
    public var isText: Bool { type == "text" }

    /// RFC 2045 §5.2 default: `text/plain; charset=us-ascii`.
    static let defaultPlain = ContentType(
        type: "text", subtype: "plain", parameters: MIMEParameters(["charset": "us-ascii"]))
    /// RFC 2046 §5.1.5: parts of `multipart/digest` default to `message/rfc822`.
    static let defaultDigestPart = ContentType(type: "message", subtype: "rfc822")

    /// The media type only; parameters may hold file names.
    public var description: String { mimeType }
}
