/// Encodes header field values for output: RFC 2047 encoded words for non-ASCII unstructured text, folding
/// (RFC 5322 §2.2.3) so lines stay within 78 characters where possible and always within 998.
enum HeaderEncoder {
    /// Longest encoded word (RFC 2047 §2).
    static let maximumEncodedWordLength = 75

    /// One complete field `Name: value\r\n`, folded. `value` is unstructured text (RFC 5322 §3.2.5); control
    /// characters and whitespace runs become single spaces so no value can start a new header line.
    static func unstructured(_ name: String, _ value: String) -> String {
        // Runs of whitespace and control characters become one space (no value can start a new line).
        let plainWords = value.unicodeScalars.split { $0.value <= 0x20 || $0.value == 0x7F }
            .map { String(String.UnicodeScalarView($0)) }
        let cleaned = plainWords.joined(separator: " ")
        // Encode non-ASCII, text that looks like an encoded word, and words too long to fold (RFC 5322 §2.1.1:
        // no line over 998; encoded words are at most 75 characters each).
        let needsEncoding =
            cleaned.unicodeScalars.contains { !$0.isASCII } || cleaned.contains("=?")
            || plainWords.contains { $0.utf8.count > 76 }
        let words = needsEncoding ? encodedWords(cleaned) : plainWords
        return fold(name, words)
    }

    /// A field whose value is already ASCII tokens (addresses, IDs, media types), folded at spaces.
    static func structured(_ name: String, _ value: String) -> String {
        fold(name, value.split(separator: " ").map(String.init))
    }

    /// Joins words with single spaces, starting a new continuation line (CRLF SP) before a word that would
    /// pass 78 characters.
    private static func fold(_ name: String, _ words: [String]) -> String {
        var out = "\(name):"
        var lineLength = out.utf8.count
        for word in words {
            let length = word.utf8.count
            if lineLength + 1 + length > 78, lineLength > name.utf8.count + 1 {
                out += "\r\n"
                lineLength = 0
            }
            out += " " + word
            lineLength += 1 + length
        }
        return out + "\r\n"
    }

    /// RFC 2047 §4.1 "B" words in UTF-8, each ≤ 75 characters, never splitting a character (§5).
    private static func encodedWords(_ text: String) -> [String] {
        let prefix = "=?utf-8?B?"
        // 39 octets → 52 base64 characters → 64-character words, so even "Subject: " plus the first word
        // stays within 76 (RFC 2047 §2: lines with encoded words SHOULD NOT exceed 76 characters).
        let budget = 39
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > budget, !chunk.isEmpty {
                words.append(prefix + Base64Lines.encode(chunk) + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(prefix + Base64Lines.encode(chunk) + "?=") }
        return words
    }
}
