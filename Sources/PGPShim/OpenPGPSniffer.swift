// Security: looks at the first bytes of decrypted literal data (attacker-controlled) to tell whether they are an
// OpenPGP message of their own: a captured ciphertext wrapped as the "plaintext" of a new message. Pure; reads
// at most `prefixLength` bytes; never decrypts or decompresses anything.

/// Recognises the start of an encrypted (or compressed) OpenPGP message, binary or armored (RFC 9580 §4.2, §6).
enum OpenPGPSniffer {
    /// How many leading bytes ``looksLikeOpenPGPMessage(prefix:totalLength:)`` needs at most.
    static let prefixLength = 96

    private static let armorHeader = Array("-----BEGIN PGP MESSAGE-----".utf8)

    /// True if `prefix` (the first bytes of data that is `totalLength` long) starts with an ASCII-armored OpenPGP
    /// message, or with a well-formed header of a packet that begins an encrypted message someone could open:
    /// PKESK (1), SKESK (3), marker (10), or compressed data (8) that may hold one, with a plausible version or
    /// algorithm octet and a length that fits. Encrypted-data packets without a key packet before them (SED,
    /// SEIPD, AEAD) cannot be opened, so they are not looked for: a legacy header octet such as 0xA7 or 0xA4 is
    /// also '§' or '€' in Latin-1 text. Text (MIME, UTF-8, Latin-1) does not match: its first octet is ASCII, or
    /// its next octets fail the version and length checks.
    static func looksLikeOpenPGPMessage(prefix: [UInt8], totalLength: Int) -> Bool {
        let text = prefix.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A })
        if text.starts(with: armorHeader) { return true }
        guard let header = PacketHeader(prefix) else { return false }
        let body = prefix.dropFirst(header.headerLength)
        if let length = header.bodyLength, length > totalLength - header.headerLength { return false }
        let first = body.first
        switch header.tag {
        case 1: return first == 3 || first == 6  // PKESK v3 (RFC 4880) or v6 (RFC 9580 §5.1)
        case 3: return first == 4 || first == 5 || first == 6  // SKESK v4, v5 (draft), v6 (§5.3)
        case 8: return first.map { $0 <= 3 } ?? false  // compression algorithm 0-3 (§9.4)
        case 10: return Array(body.prefix(3)) == Array("PGP".utf8)  // Marker (§5.8)
        default: return false
        }
    }

    /// An OpenPGP packet header, legacy or new format (RFC 9580 §4.2.1, §4.2.2).
    struct PacketHeader {
        var tag: Int
        var headerLength: Int
        /// The body length; nil for a partial or indeterminate length.
        var bodyLength: Int?

        init?(_ bytes: [UInt8]) {
            guard let first = bytes.first, first & 0x80 != 0 else { return nil }
            func octet(_ index: Int) -> Int? { index < bytes.count ? Int(bytes[index]) : nil }
            if first & 0x40 != 0 {
                tag = Int(first & 0x3F)
                guard let o1 = octet(1) else { return nil }
                switch o1 {
                case 0..<192:
                    (headerLength, bodyLength) = (2, o1)
                case 192..<224:
                    guard let o2 = octet(2) else { return nil }
                    (headerLength, bodyLength) = (3, ((o1 - 192) << 8) + o2 + 192)
                case 255:
                    guard let a = octet(2), let b = octet(3), let c = octet(4), let d = octet(5) else { return nil }
                    (headerLength, bodyLength) = (6, (a << 24) | (b << 16) | (c << 8) | d)
                default:
                    (headerLength, bodyLength) = (2, nil)  // partial body length
                }
            } else {
                tag = Int((first >> 2) & 0x0F)
                switch first & 0x03 {
                case 0:
                    guard let o1 = octet(1) else { return nil }
                    (headerLength, bodyLength) = (2, o1)
                case 1:
                    guard let a = octet(1), let b = octet(2) else { return nil }
                    (headerLength, bodyLength) = (3, (a << 8) | b)
                case 2:
                    guard let a = octet(1), let b = octet(2), let c = octet(3), let d = octet(4) else { return nil }
                    (headerLength, bodyLength) = (5, (a << 24) | (b << 16) | (c << 8) | d)
                default:
                    (headerLength, bodyLength) = (1, nil)  // indeterminate length
                }
            }
        }
    }
}
