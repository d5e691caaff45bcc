import Foundation

/// Checks outgoing bytes the way a strict MTA would.
enum WireCheck {
    /// Lines as strings (without CRLF). Records nothing; callers #expect on the result.
    static func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
    }

    /// True if every line ends in CRLF, no bare CR/LF or NUL exists, and no line is longer than `limit`.
    static func isWireSafe(_ bytes: [UInt8], limit: Int = 998) -> Bool {
        guard bytes.suffix(2) == [0x0D, 0x0A] else { return false }
        var length = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D {
                guard i + 1 < bytes.count, bytes[i + 1] == 0x0A else { return false }
                length = 0
                i += 2
                continue
            }
            if bytes[i] == 0x0A || bytes[i] == 0 { return false }
            length += 1
            if length > limit { return false }
            i += 1
        }
        return true
    }
}
