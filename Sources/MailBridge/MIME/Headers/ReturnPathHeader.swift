import Foundation

/// Reads the reverse path for a fetched message from its first `Return-Path:` header (RFC 5322 §3.6.7, added by
/// the provider's final delivery, RFC 5321 §4.4). Anything unparsable, missing, folded or `<>` gives the null
/// path (a null reverse path only means no redirect reply is sent to an unknown sender).
///
/// Security: scans untrusted header bytes, at most ``maximumHeaderBytes``; the result is only validated by
/// ``EmailAddress``.
enum ReturnPathHeader {
    static let maximumHeaderBytes = 64 * 1024

    static func reversePath(in message: Data) -> ReversePath {
        let header = message.prefix(maximumHeaderBytes)
        var lineStart = header.startIndex
        while lineStart < header.endIndex {
            let lineEnd = header[lineStart...].firstIndex(of: 0x0A) ?? header.endIndex
            var line = header[lineStart..<lineEnd]
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty { break }  // end of the header block
            let name = "return-path:"
            if line.count > name.utf8.count,
                String(decoding: line.prefix(name.utf8.count), as: UTF8.self).lowercased() == name
            {
                let value = String(decoding: line.dropFirst(name.utf8.count), as: UTF8.self)
                    .trimmingCharacters(in: .whitespaces)
                guard value.hasPrefix("<"), value.hasSuffix(">"), value.count > 2 else { return .null }
                let inner = String(value.dropFirst().dropLast())
                guard let address = try? EmailAddress(inner) else { return .null }
                return .mailbox(address)
            }
            if lineEnd == header.endIndex { break }
            lineStart = header.index(after: lineEnd)
        }
        return .null
    }
}
