// Security: derives the sender identity from untrusted header fields. Strict by design: anything ambiguous
// (several From fields, several mailboxes, groups, encoded words in the address, control characters) is
// refused with a typed error instead of guessed, so a thread can never be bound to a spoofed second address.

public import MailValues

/// The single mailbox of a message's From field (RFC 5322 §3.6.2), strictly parsed.
///
/// ```swift
/// let sender = try SenderIdentity(headers: message.headers)
/// sender.address            // EmailAddress (redacted description)
/// ```
public struct SenderIdentity: Sendable, Hashable, CustomStringConvertible {
    public let address: EmailAddress
    /// The display name, RFC 2047-decoded, if any.
    public let displayName: String?

    /// Parses the From field(s) of `headers`. Uses libetpan's `mailimf_address_list_parse` for the RFC 5322
    /// grammar, then applies the strict checks documented on ``IdentityError/Code``.
    public init(headers: MIMEHeaders) throws(IdentityError) {
        let fields = headers.all("From")
        guard let field = fields.first else { throw IdentityError(.missingFrom) }
        guard fields.count == 1 else { throw IdentityError(.multipleFromFields) }
        guard !field.rawValue.contains(0), !field.containsControlCharacters else {
            throw IdentityError(.controlCharacter)
        }
        let unfolded = Array(field.value.utf8)
        guard let list = EtPanAddressList(unfolded), list.consumedAll else { throw IdentityError(.malformedAddress) }
        let entries = list.entries
        guard !entries.isEmpty else { throw IdentityError(.malformedAddress) }
        if entries.contains(where: { if case .group = $0 { true } else { false } }) {
            throw IdentityError(.groupSyntax)
        }
        guard entries.count == 1, case .mailbox(let rawName, let rawSpec) = entries[0] else {
            throw IdentityError(.multipleMailboxes)
        }
        let spec = String(decoding: rawSpec, as: UTF8.self)
        guard !EncodedWordDecoder.containsEncodedWordMarker(spec) else { throw IdentityError(.encodedWordInAddress) }
        // The angle-addr as written must not hold an encoded word either (libetpan may normalise the spec).
        if let open = field.value.lastIndex(of: "<"),
            EncodedWordDecoder.containsEncodedWordMarker(String(field.value[open...]))
        {
            throw IdentityError(.encodedWordInAddress)
        }
        do {
            address = try EmailAddress(spec)
        } catch {
            throw IdentityError(.invalidAddress)
        }
        if let rawName {
            let name = EncodedWordDecoder.decode(String(decoding: rawName, as: UTF8.self)).text
            guard !name.unicodeScalars.contains(where: { $0 == "\0" || $0 == "\r" || $0 == "\n" }) else {
                throw IdentityError(.controlCharacter)
            }
            displayName = name.isEmpty ? nil : name
        } else {
            displayName = nil
        }
    }

    public var description: String { "SenderIdentity(<address>)" }
    /// Address and display name in clear. Never for logs.
    public var unredactedDescription: String {
        displayName.map { "\($0) <\(address.unredactedDescription)>" } ?? address.unredactedDescription
    }
}
