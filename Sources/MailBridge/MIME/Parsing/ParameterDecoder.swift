/// RFC 2231 parameter value continuations (§3), charset/language (§4) and both combined (§4.1).
///
/// libetpan tokenises `attribute=value` pairs (and unquotes quoted strings) but leaves `name*0*=…`
/// sections and `charset'lang'%XX` values as they are, so the assembly is done here.
enum ParameterDecoder {
    private struct Section {
        var index: Int
        var encoded: Bool
        var value: String
    }

    /// Assembles raw `(name, value)` pairs into decoded parameters. Sections after a gap, or beyond
    /// `maximumSections`, are ignored. An RFC 2231 form wins over a plain parameter of the same name.
    static func decode(_ raw: [(name: String, value: String)], maximumSections: Int) -> MIMEParameters {
        var plain: [String: String] = [:]
        var extended: [String: [Section]] = [:]
        for (rawName, value) in raw {
            let name = rawName.lowercased()
            guard let star = name.firstIndex(of: "*") else {
                if plain[name] == nil { plain[name] = value }
                continue
            }
            let base = String(name[..<star])
            let rest = name[name.index(after: star)...]
            if rest.isEmpty {
                // name*=charset'lang'value (single encoded section)
                extended[base, default: []].append(Section(index: 0, encoded: true, value: value))
                continue
            }
            let encoded = rest.hasSuffix("*")
            let digits = encoded ? rest.dropLast() : rest
            guard let index = Int(digits), index >= 0, index < maximumSections,
                digits.allSatisfy(\.isASCIIDigit), !(digits.count > 1 && digits.first == "0")
            else { continue }
            extended[base, default: []].append(Section(index: index, encoded: encoded, value: value))
        }
        var result = plain
        for (name, sections) in extended {
            if let value = assemble(sections.sorted { $0.index < $1.index }) { result[name] = value }
        }
        return MIMEParameters(result)
    }

    private static func assemble(_ sections: [Section]) -> String? {
        guard let first = sections.first, first.index == 0 else { return nil }
        var charset: Charset? = .utf8
        var bytes: [UInt8] = []
        var expected = 0
        for (position, section) in sections.enumerated() {
            guard section.index == expected else { break }  // duplicate or gap: stop (RFC 2231 §3)
            expected += 1
            var value = section.value
            if position == 0, section.encoded {
                // charset'language'value; both may be empty (RFC 2231 §4).
                let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                if parts.count == 3 {
                    charset = parts[0].isEmpty ? .usASCII : Charset(label: String(parts[0]))
                    value = String(parts[2])
                }
            }
            bytes += section.encoded ? percentDecode(value) : Array(value.utf8)
        }
        // Unknown charset: keep the octets readable as UTF-8 with U+FFFD rather than dropping the name.
        return (charset ?? .utf8).decode(bytes)
    }

    private static func percentDecode(_ value: String) -> [UInt8] {
        let input = Array(value.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < input.count {
            if input[i] == UInt8(ascii: "%"), let hi = EncodedWordDecoder.hexValue(input[safe: i + 1]),
                let lo = EncodedWordDecoder.hexValue(input[safe: i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(input[i])
                i += 1
            }
        }
        return out
    }
}
