import MailBridge
import MailValues
import Testing

/// Second red-team pass on ``EmailAddress/canonical`` (the client registry's address form). Each test asserts the
/// SAFE behaviour; `// BREAK:` marks a test that fails while two different forms are handled wrongly.
struct CanonicalAddressRedTeamTests {
    /// Punycode against RFC 3492 / Python's `punycode` codec, including long labels (no overflow, no trap).
    @Test(arguments: [
        ("a@b\u{FC}cher.example", "a@xn--bcher-kva.example"),
        ("a@M\u{FC}nchen.de", "a@xn--mnchen-3ya.de"),
        ("a@\u{65E5}\u{672C}\u{8A9E}.jp", "a@xn--wgv71a119e.jp"),
        ("a@\u{43F}\u{440}\u{430}\u{432}\u{438}\u{442}\u{435}\u{43B}\u{44C}\u{441}\u{442}\u{432}\u{43E}.ru",
         "a@xn--80aealotwbjpid2k.ru"),
        ("a@" + String(repeating: "\u{FF}", count: 20) + ".example", "a@xn--wdaaaaaaaaaaaaaaaaaaaa.example"),
        ("a@" + String(repeating: "\u{1F600}", count: 15) + ".example", "a@xn--e28haaaaaaaaaaaaaa.example"),
        ("a@XN--BCHER-KVA.EXAMPLE", "a@xn--bcher-kva.example"),
    ])
    func punycodeMatchesKnownALabels(_ text: String, expected: String) throws {
        #expect(try EmailAddress(text).canonical == expected)
    }

    /// Different real mailboxes stay apart: case-distinct Greek letters that IDNA keeps apart, look-alike scripts,
    /// an existing A-label with Unicode after it.
    @Test func differentDomainsStayApart() throws {
        #expect(try EmailAddress("a@\u{3B1}\u{3C2}.example").canonical != EmailAddress("a@\u{3B1}\u{3C3}.example").canonical)
        #expect(try EmailAddress("a@p\u{430}ypal.example").canonical != EmailAddress("a@paypal.example").canonical)
        #expect(try EmailAddress("a@xn--b\u{FC}.example").canonical != EmailAddress("a@xn--b.example").canonical)
    }

    /// Upper-case Greek sigma: UTS #46 maps Σ to σ always (never to the final ς), so "ΑΣ.example" is ασ.example
    /// (xn--mxa0b), not the different, registrable ας.example (xn--mxa8a). Swift's lower-casing is per scalar.
    /// The Kelvin sign in a domain is lower-cased to ASCII k before Punycode is considered.
    @Test func upperCaseSigmaAndKelvinSignAreMappedAsIDNAMapsThem() throws {
        let upper = try EmailAddress("a@\u{391}\u{3A3}.example").canonical
        #expect(upper == "a@xn--mxa0b.example")
        #expect(try EmailAddress("a@\u{212A}anzlei.example").canonical == "a@kanzlei.example")
    }

    // BREAK: labels that UTS #46 maps to ASCII or to other letters (full-width forms, NFKC compatibility
    // characters) are Punycode-encoded as they stand (EmailAddress.swift:50-52, NFC only):
    // "klientin@ｅｘａｍｐｌｅ.net" becomes "klientin@xn--...", not example.net, although IDNA-aware mail
    // software delivers it to example.net. A look-alike of a registered client's address is then a separate
    // registry entry (see RedTeam2Tests.lookAlikeOfARegisteredAddressIsNeverValid).
    @Test func fullWidthDomainIsTheASCIIDomain() throws {
        #expect(try EmailAddress("a@\u{FF45}\u{FF58}\u{FF41}\u{FF4D}\u{FF50}\u{FF4C}\u{FF45}.net").canonical
                == "a@example.net")
    }

    // BREAK: a quoted local part whose content is a dot-atom is the same mailbox as the unquoted form (RFC 5321
    // §4.1.2: "a local-part that can be written as a dot-string SHOULD be"); canonical keeps the quotes.
    @Test func quotedLocalPartIsTheDotAtom() throws {
        #expect(try EmailAddress("\"klientin\"@example.net").canonical == EmailAddress("klientin@example.net").canonical)
    }

    /// Forms that are not addresses are refused, never turned into a registered one: empty labels, a trailing dot,
    /// a label over 63 octets.
    @Test(arguments: ["a@example..net", "a@example.net.", "a@.example.net",
                      "a@" + String(repeating: "\u{FC}", count: 32) + ".example"])
    func malformedDomainsAreRefused(_ text: String) {
        #expect(throws: AddressError.self) { try EmailAddress(text) }
    }
}
