/// Collects an outgoing message as CRLF lines and checks the result: only CRLF line ends and no line over
/// 998 octets (RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6).
struct MailLineWriter {
    static let maximumLineOctets = 998
    private(set) var text = ""

    /// Appends a rendered header field (already ending in CRLF).
    mutating func field(_ rendered: String) { text += rendered }

    mutating func line(_ line: String) { text += line + "\r\n" }

    mutating func lines(_ lines: [String]) { for line in lines { self.line(line) } }

    func finish() throws(BuilderError) -> [UInt8] {
        let bytes = Array(text.utf8)
        try Self.check(bytes)
        return bytes
    }

    static func check(_ bytes: [UInt8]) throws(BuilderError) {
        var length = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D {
                guard bytes[safe: index + 1] == 0x0A else { throw BuilderError(.lineTooLong) }
                length = 0
                index += 2
                continue
            }
            guard byte != 0x0A, byte != 0 else { throw BuilderError(.lineTooLong) }
            length += 1
            guard length <= maximumLineOctets else { throw BuilderError(.lineTooLong) }
            index += 1
        }
        guard bytes.isEmpty || bytes.suffix(2) == [0x0D, 0x0A] else { throw BuilderError(.lineTooLong) }
    }
}
