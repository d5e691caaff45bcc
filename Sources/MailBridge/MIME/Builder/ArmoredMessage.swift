/// An ASCII-armored OpenPGP message (RFC 4880 §6.2): exactly one `BEGIN PGP MESSAGE` … `END PGP MESSAGE`
/// block of ASCII with lines ≤ 76 characters, whitespace around it trimmed. Plain text cannot pass as this.
public struct ArmoredMessage: Sendable, Hashable, CustomStringConvertible {
    /// The block with CRLF line ends.
    public let lines: [String]

    public init(_ bytes: [UInt8]) throws(BuilderError) {
        guard case .single(let range, true) = ArmorScanner.scan(bytes) else { throw BuilderError(.invalidArmor) }
        let text = String(decoding: bytes[range], as: UTF8.self).replacingLineEnds()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3,
            lines.allSatisfy({ $0.utf8.count <= 76 && $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } })
        else { throw BuilderError(.invalidArmor) }
        // Only armor headers (RFC 4880 §6.2 "Key: Value"), an empty line, then radix-64 and the checksum.
        guard let blank = lines.firstIndex(of: "") else { throw BuilderError(.invalidArmor) }
        let radix = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        for line in lines[(blank + 1)..<(lines.count - 1)] where !line.allSatisfy(radix.contains) {
            throw BuilderError(.invalidArmor)
        }
        self.lines = lines
    }

    public var description: String { "ArmoredMessage(\(lines.count) lines)" }
}
