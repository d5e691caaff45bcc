/// Content-Transfer-Encoding (RFC 2045 §6).
public enum TransferEncoding: Sendable, Hashable, CustomStringConvertible {
    case sevenBit, eightBit, binary, quotedPrintable, base64
    /// An unknown token (e.g. `x-uuencode`); the body is kept undecoded.
    case other(String)

    public var description: String {
        switch self {
        case .sevenBit: "7bit"
        case .eightBit: "8bit"
        case .binary: "binary"
        case .quotedPrintable: "quoted-printable"
        case .base64: "base64"
        case .other(let token): token
        }
    }
}
