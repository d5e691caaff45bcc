// Security: parses addresses from untrusted SMTP commands and mail headers. Addresses are personal data:
// `description` never shows them; only `unredactedDescription` does, and it must not reach logs or plain mail.

import Foundation

/// A validated mailbox address `local-part@domain` (RFC 5321 §4.1.2, with RFC 6531 UTF-8 allowed).
///
/// ```swift
/// let address = try EmailAddress("beratung@example.org")
/// print(address)                        // "<address>" (redacted)
/// print(address.unredactedDescription)  // "beratung@example.org"
/// ```
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    /// The local part as written (case preserved; RFC 5321 §2.4 leaves its case to the receiving host).
    public let localPart: String
    /// The domain, lower-cased (domains are case-insensitive, RFC 5321 §2.4).
    public let domain: String

    /// RFC 5321 §4.5.3.1.1: at most 64 octets of local part.
    public static let maximumLocalPartOctets = 64
    /// RFC 5321 §4.5.3.1.2: at most 255 octets of domain.
    public static let maximumDomainOctets = 255

    /// Parses `local@domain`. The local part is a dot-string or a quoted string; the domain a host name
    /// (A-labels or U-labels) or an address literal in brackets. No display names, no angle brackets.
    public init(_ text: String) throws(AddressError) {
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw AddressError(.controlCharacter)
        }
        guard let at = text.lastIndex(of: "@") else { throw AddressError(.missingAt) }
        let local = String(text[..<at])
        let domain = String(text[text.index(after: at)...])
        try Self.validateLocalPart(local)
        try Self.validateDomain(domain)
        self.localPart = local
        self.domain = domain.lowercased()
    }

    /// The address for matching and for the client registry: the local part unquoted where the quotes are not
    /// needed (`"klientin"` is `klientin`, RFC 5321 §4.1.2), in Unicode NFC, lower-cased; the domain mapped as
    /// IDNA does (UTS #46: the ideographic and full-width full stops are dots, compatibility forms such as
    /// full-width letters are folded, NFKC, lower case) and written as A-labels (RFC 5890). So `jürgen@` composed
    /// or decomposed, `bücher.example` or `xn--bcher-kva.example`, and `ｅｘａｍｐｌｅ．ｎｅｔ` are one address each.
    /// Counselling addresses are matched this way.
    public var canonical: String { "\(Self.canonicalLocalPart(localPart))@\(Self.canonicalDomain(domain))" }

    static func canonicalLocalPart(_ local: String) -> String {
        var text = local
        if local.count >= 2, local.hasPrefix("\""), local.hasSuffix("\"") {
            var unquoted = ""
            var escaped = false
            for character in local.dropFirst().dropLast() {
                if escaped || character != "\\" {
                    unquoted.append(character)
                    escaped = false
                } else {
                    escaped = true
                }
            }
            let isDotAtom = unquoted.split(separator: ".", omittingEmptySubsequences: false)
                .allSatisfy { !$0.isEmpty && $0.unicodeScalars.allSatisfy(isAtext) }
            if isDotAtom { text = unquoted }
        }
        return text.precomposedStringWithCanonicalMapping.lowercased()
    }

    static func canonicalDomain(_ domain: String) -> String {
        let dotted = String(domain.unicodeScalars.map { scalar -> Character in
            [0x3002, 0xFF0E, 0xFF61].contains(scalar.value) ? "." : Character(scalar)
        })
        return dotted.split(separator: ".", omittingEmptySubsequences: false).map { label -> String in
            guard !label.unicodeScalars.allSatisfy(\.isASCII) else { return label.lowercased() }
            let unicode = String(label).precomposedStringWithCompatibilityMapping.lowercased()
                .precomposedStringWithCompatibilityMapping
            guard !unicode.unicodeScalars.allSatisfy(\.isASCII) else { return unicode }
            return Punycode.encode(unicode).map { "xn--" + $0 } ?? unicode
        }.joined(separator: ".")
    }

    /// The address in clear. Only for the wire (SMTP envelopes, headers of encrypted mail) and the encrypted store.
    public var unredactedDescription: String { "\(localPart)@\(domain)" }

    public var description: String { "<address>" }

    private static func validateLocalPart(_ local: String) throws(AddressError) {
        guard !local.isEmpty else { throw AddressError(.emptyLocalPart) }
        guard local.utf8.count <= maximumLocalPartOctets else { throw AddressError(.tooLong) }
        if local.hasPrefix("\"") {
            // quoted-string: DQUOTE *QcontentSMTP DQUOTE (RFC 5321 §4.1.2)
            guard local.count >= 2, local.hasSuffix("\"") else { throw AddressError(.invalidLocalPart) }
            var escaped = false
            for scalar in local.unicodeScalars.dropFirst().dropLast() {
                if escaped { escaped = false; continue }
                if scalar == "\\" { escaped = true; continue }
                if scalar == "\"" { throw AddressError(.invalidLocalPart) }
            }
            guard !escaped else { throw AddressError(.invalidLocalPart) }
            return
        }
        // Dot-string = Atom *("." Atom)
        for atom in local.split(separator: ".", omittingEmptySubsequences: false) {
            guard !atom.isEmpty, atom.unicodeScalars.allSatisfy(isAtext) else {
                throw AddressError(.invalidLocalPart)
            }
        }
    }

    private static func validateDomain(_ domain: String) throws(AddressError) {
        guard !domain.isEmpty else { throw AddressError(.emptyDomain) }
        guard domain.utf8.count <= maximumDomainOctets else { throw AddressError(.tooLong) }
        if domain.hasPrefix("[") {
            guard domain.hasSuffix("]"), domain.count > 2,
                domain.unicodeScalars.dropFirst().dropLast().allSatisfy({
                    $0.isASCII && ($0.properties.isASCIIHexDigit || ".:".unicodeScalars.contains($0)
                        || ("a"..."z").contains($0) || ("A"..."Z").contains($0))
                })
            else { throw AddressError(.invalidDomain) }
            return
        }
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-",
                label.unicodeScalars.allSatisfy({ $0 == "-" || isLetterOrDigit($0) })
            else { throw AddressError(.invalidDomain) }
        }
    }

    /// atext (RFC 5322 §3.2.3) plus non-ASCII UTF-8 (RFC 6531 §3.3).
    private static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        if !scalar.isASCII { return scalar.value >= 0xA0 }
        return isLetterOrDigit(scalar) || "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(scalar)
    }

    private static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        if !scalar.isASCII { return scalar.value >= 0xA0 }
        return ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

/// Why a text is not a valid ``EmailAddress``. The description never repeats the input.
public struct AddressError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case missingAt, emptyLocalPart, emptyDomain, invalidLocalPart, invalidDomain, tooLong, controlCharacter
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String {
        switch code {
        case .missingAt: "address has no '@'"
        case .emptyLocalPart: "address has an empty local part"
        case .emptyDomain: "address has an empty domain"
        case .invalidLocalPart: "address has an invalid local part"
        case .invalidDomain: "address has an invalid domain"
        case .tooLong: "address is too long"
        case .controlCharacter: "address contains a control character"
        }
    }
}
