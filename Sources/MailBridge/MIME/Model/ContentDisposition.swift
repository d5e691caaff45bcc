/// Content-Disposition (RFC 2183) with parameters after RFC 2231 assembly.
public struct ContentDisposition: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case inline, attachment
        case other(String)
    }

    public let kind: Kind
    public let parameters: MIMEParameters

    public var description: String {
        switch kind {
        case .inline: "inline"
        case .attachment: "attachment"
        case .other: "other"
        }
    }
}
