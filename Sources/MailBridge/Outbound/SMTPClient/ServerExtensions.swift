/// What the server announced in its EHLO reply (RFC 5321 §4.1.1.1, §2.2.2). Keywords are case-insensitive.
public struct ServerExtensions: Hashable, Sendable {
    public var startTLS = false
    /// SASL mechanisms after AUTH (RFC 4954 §3), upper-cased.
    public var authMechanisms: Set<String> = []
    /// SIZE with its limit; nil if not announced, 0 if announced without a limit (RFC 1870 §4).
    public var sizeLimit: Int?
    public var eightBitMIME = false
    public var smtpUTF8 = false
    public var pipelining = false

    public init() {}

    /// Reads the keyword lines of a 250 EHLO reply; the first line is the server's name and is skipped.
    public init(ehloReply reply: SMTPReply) {
        let lines = (reply.precedingLines + [reply.text]).dropFirst()
        for line in lines {
            let words = line.split(separator: " ").map { $0.uppercased() }
            guard let keyword = words.first else { continue }
            switch keyword {
            case "STARTTLS": startTLS = true
            case "AUTH": authMechanisms.formUnion(words.dropFirst())
            case "SIZE": sizeLimit = words.count > 1 ? Int(words[1]).map { max(0, $0) } ?? 0 : 0
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtpUTF8 = true
            case "PIPELINING": pipelining = true
            default: continue
            }
        }
    }
}
