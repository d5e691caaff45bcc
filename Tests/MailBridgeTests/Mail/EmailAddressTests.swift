import MailBridge
import MailValues
import Testing

struct EmailAddressTests {
    @Test(arguments: [
        "beratung@example.org", "a.b-c+tag@sub.example.org", "\"quoted local\"@example.org",
        "user@[192.0.2.1]", "jürgen@exämple.de",
    ])
    func acceptsValidAddresses(_ text: String) throws {
        let address = try EmailAddress(text)
        #expect(address.unredactedDescription.lowercased() == text.lowercased())
    }

    @Test(arguments: [
        ("no-at.example.org", AddressError.Code.missingAt),
        ("@example.org", .emptyLocalPart),
        ("user@", .emptyDomain),
        ("a..b@example.org", .invalidLocalPart),
        (".a@example.org", .invalidLocalPart),
        ("a b@example.org", .invalidLocalPart),
        ("user@-bad.example", .invalidDomain),
        ("user@exa mple.org", .invalidDomain),
        ("user@example..org", .invalidDomain),
        ("us\r\ner@example.org", .controlCharacter),
        ("user@exam\0ple.org", .controlCharacter),
    ])
    func rejectsInvalidAddresses(_ text: String, _ code: AddressError.Code) {
        #expect(throws: AddressError(code)) { try EmailAddress(text) }
    }

    @Test func rejectsOverlongParts() {
        let local = String(repeating: "a", count: 65)
        #expect(throws: AddressError(.tooLong)) { try EmailAddress("\(local)@example.org") }
    }

    @Test func descriptionIsRedactedAndCanonicalIsCaseInsensitive() throws {
        let address = try EmailAddress("Klient.Canary@Example.ORG")
        #expect(!"\(address)".contains("Canary"))
        #expect(!String(describing: [address]).contains("Canary"))
        #expect(address.canonical == "klient.canary@example.org")
        #expect(address.domain == "example.org")
    }

    /// One canonical form for the client registry: composed and decomposed Unicode, U-labels and A-labels, and
    /// the Kelvin sign (canonically K) are one address (issue 16, red-team look-alikes).
    @Test(arguments: [
        ("j\u{FC}rgen@example.net", "ju\u{308}rgen@example.net"),
        ("klientin@b\u{FC}cher.example", "klientin@xn--bcher-kva.example"),
        ("KLIENTIN@B\u{DC}CHER.example", "klientin@xn--bcher-kva.example"),
        ("\u{212A}lientin@example.net", "klientin@example.net"),
        ("kontakt@m\u{FC}nchen.de", "kontakt@xn--mnchen-3ya.de"),
        ("info@\u{4F8B}\u{3048}.jp", "info@xn--r8jz45g.jp"),
    ])
    func lookAlikeFormsShareOneCanonicalForm(_ one: String, _ other: String) throws {
        #expect(try EmailAddress(one).canonical == EmailAddress(other).canonical)
    }

    @Test func canonicalFormKeepsDifferentAddressesApart() throws {
        #expect(try EmailAddress("jurgen@example.net").canonical != EmailAddress("j\u{FC}rgen@example.net").canonical)
        #expect(try EmailAddress("a@bucher.example").canonical != EmailAddress("a@b\u{FC}cher.example").canonical)
    }
}
