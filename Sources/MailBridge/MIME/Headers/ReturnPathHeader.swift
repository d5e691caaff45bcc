import Foundation
import MailValues

/// Reads the reverse path for a fetched message from its first `Return-Path:` header (RFC 5322 §3.6.7, added by
/// the provider's final delivery, RFC 5321 §4.4), using the header room's lenient
/// ``HeaderBlockSplitter/section(of:maximumFields:)``. Anything unparsable, missing, folded or `<>` gives the null
/// path (a null reverse path only means no redirect reply is sent to an unknown sender).
///
/// Security: scans untrusted header bytes, at most ``maximumHeaderBytes``; the result is only validated by
/// ``EmailAddress``.
enum ReturnPathHeader {
    static let maximumHeaderBytes = 64 * 1024

    static func reversePath(in message: Data) -> ReversePath {
        let (headers, _) = HeaderBlockSplitter.section(of: Array(message.prefix(maximumHeaderBytes))[...])
        guard let field = headers.first("return-path"),
            !field.rawValue.contains(0x0A), !field.rawValue.contains(0x0D)  // folded: not what a provider writes
        else { return .null }
        let value = field.value
        guard value.hasPrefix("<"), value.hasSuffix(">"), value.count > 2,
            let address = try? EmailAddress(String(value.dropFirst().dropLast()))
        else { return .null }
        return .mailbox(address)
    }
}
