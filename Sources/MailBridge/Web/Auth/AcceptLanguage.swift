// Security: parses the untrusted `Accept-Language` header: bounded (first 32 entries of at most 1 KiB), and it
// only ever selects one of the two interface languages.

import Foundation
import ThreadStore

/// The browser's preferred interface language from `Accept-Language` (RFC 9110 §12.5.4): the entry with the
/// highest `q` whose primary tag is `de` or `en` (ties: the earlier one); `q=0` means "not acceptable", and an
/// entry with a malformed weight is left out.
///
/// ```swift
/// AcceptLanguage.preferred("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7")   // .english
/// ```
enum AcceptLanguage {
    static func preferred(_ header: String?) -> InterfaceLanguage? {
        guard let header else { return nil }
        var best: (language: InterfaceLanguage, quality: Double)?
        for entry in header.utf8.prefix(1024).split(separator: UInt8(ascii: ",")).prefix(32) {
            let parts = String(decoding: entry, as: UTF8.self).split(separator: ";")
            guard let tag = parts.first?.trimmingCharacters(in: .whitespaces).lowercased() else { continue }
            let primary = tag.split(separator: "-").first.map(String.init) ?? tag
            let language: InterfaceLanguage
            switch primary {
            case "de": language = .german
            case "en": language = .english
            default: continue
            }
            var quality: Double? = 1
            for parameter in parts.dropFirst() {
                let pair = parameter.trimmingCharacters(in: .whitespaces).lowercased()
                guard pair.hasPrefix("q=") else { continue }
                // A weight outside 0…1 (RFC 9110 §12.4.2) makes the entry unusable rather than preferred.
                quality = Double(pair.dropFirst(2)).flatMap { (0...1).contains($0) ? $0 : nil }
            }
            guard let quality else { continue }
            if quality > 0, quality > best?.quality ?? 0 { best = (language, quality) }
        }
        return best?.language
    }
}
