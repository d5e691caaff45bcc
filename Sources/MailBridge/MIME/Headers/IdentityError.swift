/// Why a message's sender identity was refused (strict From parsing). The description never repeats input.
public struct IdentityError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// No From field (RFC 5322 §3.6 requires exactly one).
        case missingFrom
        /// More than one From field (RFC 5322 §3.6 table: max 1).
        case multipleFromFields
        /// The From field lists more than one mailbox (RFC 5322 §3.6.2 would then need Sender; we refuse).
        case multipleMailboxes
        /// Group syntax `name: …;` (RFC 5322 §3.4) instead of a mailbox.
        case groupSyntax
        /// NUL, bare CR or bare LF in the field (header injection), also after RFC 2047 decoding.
        case controlCharacter
        /// An RFC 2047 encoded word inside the address itself (RFC 2047 §5 forbids it in addr-spec).
        case encodedWordInAddress
        /// The field is not an RFC 5322 address list.
        case malformedAddress
        /// The addr-spec is not a valid ``EmailAddress``.
        case invalidAddress
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "IdentityError(\(code))" }
}
