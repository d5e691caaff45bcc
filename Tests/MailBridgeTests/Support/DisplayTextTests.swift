import Testing
import ThreadStore
@testable import MailBridge

/// Attacker text beside gateway text (pure): one line without controls or bidirectional overrides, body lines,
/// fingerprints in groups of four, and the verdict words and classes every surface uses.
@Suite struct DisplayTextTests {
    @Test(arguments: [
        ("Re: Hilfe\r\n--- inbound", "Re: Hilfe\u{FFFD}\u{FFFD}--- inbound"),
        ("Kim \u{202E}gpj.exe", "Kim \u{FFFD}gpj.exe"),
        ("\u{2066}a\u{2069} \u{202A}b\u{202C}", "\u{FFFD}a\u{FFFD} \u{FFFD}b\u{FFFD}"),
        ("esc\u{1B}[2J c1\u{9B}31m", "esc\u{FFFD}[2J c1\u{FFFD}31m"),
        ("tab\there\u{2028}x", "tab\u{FFFD}here\u{FFFD}x"),
        ("Jürgen Müller <jm@example.net>", "Jürgen Müller <jm@example.net>"),
    ])
    func lineReplacesControlsAndFormattingCharacters(text: String, shown: String) {
        #expect(DisplayText.line(text) == shown)
    }

    @Test func lineIsCutWithAMark() {
        #expect(DisplayText.line(String(repeating: "a", count: 10), limit: 4) == "aaaa…")
        #expect(DisplayText.line("aaaa", limit: 4) == "aaaa")
    }

    @Test func linesSplitAtEveryLineEndAndReplaceControlsButKeepTabsAndJoiners() {
        #expect(DisplayText.lines("a\r\nb\rc\nd\n") == ["a", "b", "c", "d"])
        #expect(DisplayText.lines("a\n\nb") == ["a", "", "b"])
        #expect(DisplayText.lines("") == [])
        #expect(DisplayText.lines("\tx\u{1B}]0;t\u{7}\u{202E}y\u{2029}z")
                == ["\tx\u{FFFD}]0;t\u{FFFD}\u{FFFD}y\u{FFFD}z"])
        let family = "👨\u{200D}👩\u{200D}👧"
        #expect(DisplayText.lines(family) == [family])
    }

    @Test func fingerprintsAreShownInGroupsOfFour() throws {
        #expect(DisplayText.groupedFingerprint("0123456789abcdef0123456789ABCDEF01234567")
                == "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567")
        #expect(DisplayText.groupedFingerprint("ABCDEF") == "ABCD EF")
        let key = try KeyFingerprint("0123456789abcdef0123456789ABCDEF01234567")
        let signer = ShownSigner(MessageSigner(fingerprint: key, userID: "Eve <script>\u{202E}\n--- x"))
        #expect(signer.fingerprint == "0123456789ABCDEF0123456789ABCDEF01234567")
        #expect(signer.userID == "Eve <script>\u{FFFD}\u{FFFD}--- x")
        #expect(signer.isKey(try KeyFingerprint("0123456789abcdef0123456789abcdef01234567")))
        #expect(!signer.isKey(nil))
        #expect(ShownSigner(MessageSigner(fingerprint: key, userID: String(repeating: "x", count: 300))).userID
                == String(repeating: "x", count: ShownSigner.userIDLimit) + "…")
    }

    @Test func onlyValidLooksValidAndEveryOtherVerdictSaysWhatToDo() {
        let names = SignatureVerdictCode.allCases.map(\.stableName)
        #expect(Set(names).count == names.count, "stable words are distinct")
        #expect(SignatureVerdictCode.valid.stableName == "valid")
        for language in [InterfaceLanguage.german, .english] {
            let strings = InboxStrings.for(language)
            let valid = strings.verdict(.valid)
            for code in SignatureVerdictCode.allCases where code != .valid {
                #expect(InboxPages.verdictClass(code) != "valid", "\(code)")
                #expect(strings.verdict(code) != valid, "\(code)")
                if code != .notApplicable {
                    #expect(strings.verdictAdvice(code, keyChangeConfirmed: false) != nil, "\(code)")
                }
            }
            #expect(InboxPages.verdictClass(.valid) == "valid")
            #expect(strings.verdictAdvice(.valid, keyChangeConfirmed: false) == nil)
        }
        // The key-change advice points at the confirmation box on the page, until the change is confirmed.
        #expect(InboxStrings.for(.german).verdictAdvice(.unconfirmedKeyChange, keyChangeConfirmed: false)?
            .contains("„Schlüsselwechsel“") == true)
        #expect(InboxStrings.for(.english).verdictAdvice(.unconfirmedKeyChange, keyChangeConfirmed: false)?
            .contains("“Key change” box") == true)
        #expect(InboxStrings.for(.german).verdictAdvice(.unconfirmedKeyChange, keyChangeConfirmed: true)?
            .contains("bestätigt") == true)
    }
}
