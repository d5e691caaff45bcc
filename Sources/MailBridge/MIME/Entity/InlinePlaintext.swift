// Security: reads the armor header lines of an inline-PGP message (cleartext, but only a charset name is taken,
// through the Charset allow-list) and converts the decrypted text to UTF-8. Bounded: at most 32 header lines of
// at most 200 octets are read; output is capped by Charset.decode. Nothing here logs.

/// The decrypted text of an inline-PGP message (RFC 4880 §6.2, bare text, no MIME header), as UTF-8 to store.
///
/// ```swift
/// let body = InlinePlaintext.utf8(plaintext, armored: payload)
/// ```
///
/// The charset: the armor's `Charset:` header (RFC 4880 §6.2) if it names a ``Charset``; else UTF-8 when the
/// octets are valid UTF-8 (OpenPGP's text default, RFC 4880 §5.9, and what GnuPG, Mailvelope and K-9 write);
/// else windows-1252. That fallback is a guess, chosen because every octet has a character there (nothing is
/// lost as U+FFFD, the counsellor can still read digits, names and Latin text) and because old Windows clients
/// in Germany, the usual source of undeclared 8-bit text, write it.
enum InlinePlaintext {
    static func utf8(_ plaintext: [UInt8], armored: [UInt8]) -> [UInt8] {
        let charset = armorCharset(armored)
        if charset == nil || charset == .utf8, validUTF8(plaintext) { return plaintext }
        return Array((charset ?? .windows1252).decode(plaintext).utf8)
    }

    /// The `Charset:` armor header's charset, if any and known.
    static func armorCharset(_ armored: [UInt8]) -> Charset? {
        guard let begin = armored.firstRange(of: ArmorScanner.begin) else { return nil }
        var lineStart = begin.upperBound
        for _ in 0..<33 {
            guard let newline = armored[lineStart...].firstIndex(of: 0x0A) else { return nil }
            var line = armored[lineStart..<newline]
            lineStart = newline + 1
            if line.last == 0x0D { line = line.dropLast() }
            if line.isEmpty, lineStart > begin.upperBound + 2 { return nil }  // end of the armor headers
            guard line.count <= 200, let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[..<colon], as: UTF8.self)
            guard name.lowercased() == "charset" else { continue }
            return Charset(label: String(decoding: line[(colon + 1)...], as: UTF8.self))
        }
        return nil
    }

    private static func validUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
