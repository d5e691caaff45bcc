/// Quoted-printable body encoding (RFC 2045 §6.7) of UTF-8 text with CRLF hard line breaks.
///
/// Output lines are at most 76 characters. A `.` at the start of a line is also encoded (`=2E`), which keeps
/// lines from starting with a dot; SMTP dot-stuffing (RFC 5321 §4.5.2) still happens in the SMTP layer for
/// every line (armor and headers included) and is not this type's job.
enum QuotedPrintableEncoder {
    static func lines(_ text: String) -> [String] {
        var lines = text.replacingLineEnds().split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }  // a final line end is the writer's
        return lines.flatMap { encodeLine(Array($0.utf8)) }
    }

    private static func encodeLine(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        var current = ""
        for (index, byte) in bytes.enumerated() {
            let isLast = index == bytes.count - 1
            var token: String
            switch byte {
            case UInt8(ascii: "="): token = hex(byte)
            case UInt8(ascii: ".") where current.isEmpty && lines.isEmpty: token = hex(byte)
            case 0x20, 0x09: token = isLast ? hex(byte) : String(UnicodeScalar(byte))  // §6.7 rule 3
            case 33...126: token = String(UnicodeScalar(byte))
            default: token = hex(byte)
            }
            // Soft line break "=" keeps every encoded line within 76 characters (§6.7 rule 5).
            if current.utf8.count + token.utf8.count > (isLast ? 76 : 75) {
                lines.append(current + "=")
                current = ""
                if token == "." { token = "=2E" }
            }
            current += token
        }
        lines.append(current)
        return lines
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "=\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0F)])"
    }
}
