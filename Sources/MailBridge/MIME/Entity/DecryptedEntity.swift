// Security: decides, for decrypted (attacker-written) plaintext, whether it is a MIME entity or bare text. The
// decision uses the MIME module's own header-block splitter and parser with their limits, never a string search,
// so it is the same for the pipeline, the inbox, the API and `mailbridge thread show`. Nothing here logs.

/// What a decrypted payload is: a MIME entity (PGP/MIME, RFC 3156 §4), bare text (inline PGP), or an entity the
/// parser refused. Decided once, here, for every consumer.
///
/// ```swift
/// switch DecryptedEntity(plaintext) {
/// case .entity(let message): show(message)           // header block is never shown as text
/// case .bareText(let bytes): showText(bytes)
/// case .unparseable: offerAsDownload(plaintext)
/// }
/// ```
///
/// An entity is bytes that start with a header block (RFC 5322 §2.2, split by ``HeaderBlockSplitter``) ending in
/// an empty line or at the end of the input, with at least one field that belongs in a message or MIME header
/// (``EntityHeaderNames``). Its first field may be any of them (Apple Mail starts with Content-Transfer-Encoding,
/// Outlook with Subject or MIME-Version), and Content-Type may be missing (RFC 2045 §5.2: `text/plain;
/// charset=us-ascii`). Text without such a block (`Hallo,` on the first line, or `Hinweis: …` followed by a
/// paragraph) is bare text.
public enum DecryptedEntity: Sendable {
    case entity(MIMEMessage)
    case bareText([UInt8])
    /// Starts with a header block naming a MIME or message field, but the parser refused it (a limit, or a
    /// malformed structure). Carries only the failed check.
    case unparseable(MIMEError)

    public init(_ bytes: [UInt8], limits: MIMELimits = .default) {
        switch Self.headerBlock(of: bytes, limits: limits) {
        case .none:
            self = .bareText(bytes)
        case .some(.failure(let error)):
            self = .unparseable(error)
        case .some(.success):
            do throws(MIMEError) {
                self = .entity(try MIMEParser(limits: limits).parse(bytes))
            } catch {
                self = .unparseable(error)
            }
        }
    }

    /// The parsed entity, or nil for bare text and refused entities.
    public var message: MIMEMessage? {
        if case .entity(let message) = self { return message }
        return nil
    }

    /// Nil: no header block (bare text). Failure: the first field names an entity header but the block is
    /// refused by the splitter (too large, too many fields, a malformed line).
    private static func headerBlock(of bytes: [UInt8], limits: MIMELimits) -> Result<MIMEHeaders, MIMEError>? {
        guard let first = firstFieldName(bytes) else { return nil }
        let declared = EntityHeaderNames.contains(first)
        let end = headerEnd(bytes, limit: limits.maximumHeaderBlockBytes)
        guard let end else { return declared ? .failure(MIMEError(.headerTooLarge)) : nil }
        do throws(MIMEError) {
            let headers = try HeaderBlockSplitter.split(bytes[..<end], limits: limits)
            guard headers.contains(where: { EntityHeaderNames.contains($0.lowercasedName) }) else { return nil }
            return .success(headers)
        } catch {
            return declared ? .failure(error) : nil
        }
    }

    /// The lower-cased name of the first line's field (`ftext` before a colon, RFC 5322 §3.6.8), if it is one.
    private static func firstFieldName(_ bytes: [UInt8]) -> String? {
        var index = 0
        while index < bytes.count, index < 80 {  // RFC 5322 §2.1.1 line length for the name; names are short
            let byte = bytes[index]
            if byte == UInt8(ascii: ":") {
                return index == 0 ? nil : String(decoding: bytes[..<index], as: UTF8.self).lowercased()
            }
            guard byte >= 33, byte <= 126 else { return nil }
            index += 1
        }
        return nil
    }

    /// The index after the empty line that ends the header block, the input's end if there is none, or nil if
    /// the block is longer than `limit`.
    private static func headerEnd(_ bytes: [UInt8], limit: Int) -> Int? {
        var index = 0
        while index < bytes.count {
            guard index <= limit else { return nil }
            if bytes[index] == 0x0A {
                if let after = EtPanWalker.lineEnd(startingAt: index + 1, in: bytes) { return after }
            }
            index += 1
        }
        return bytes.count <= limit ? bytes.count : nil
    }
}

/// Header fields that make a block of `name: value` lines a message or MIME header (RFC 5322 §3.6, RFC 2045 §3,
/// RFC 2183, draft-autocrypt-lamps-protected-headers). Lower-case.
enum EntityHeaderNames {
    static let names: Set<String> = [
        "content-type", "content-transfer-encoding", "content-disposition", "content-id", "content-description",
        "content-language", "mime-version", "subject", "from", "to", "cc", "date", "message-id", "reply-to",
        "in-reply-to", "references", "sender",
    ]

    static func contains(_ lowercasedName: String) -> Bool { names.contains(lowercasedName) }
}
