import Testing
@testable import MailBridge

/// HTML-only mail as text (libxml2's HTML parser): blocks, breaks, lists, link targets; no markup, script or
/// style text; nothing fetched.
@Suite struct HTMLTextTests {
    @Test func paragraphsBreaksListsAndLinks() throws {
        let html = """
            <html><head><title>T</title><style>p { color: red }</style>
            <script>alert("x")</script></head><body>
            <p>Hallo&nbsp;Frau   M&uuml;ller,</p><p>erste Zeile<br>zweite Zeile</p>
            <ul><li>eins</li><li>zwei</li></ul><ol start="3"><li>drei</li><li>vier</li></ol>
            <p>Siehe <a href="https://example.org/termin">den Termin</a> oder
            <a href="mailto:a@example.org">a@example.org</a>.</p>
            <img src="https://tracker.example/p.gif" alt="Logo"><!-- Kommentar -->
            <table><tr><td>a</td><td>b</td></tr></table>
            </body></html>
            """
        let text = try #require(HTMLText.convert(Array(html.utf8)))
        #expect(text == """
            Hallo\u{A0}Frau Müller,

            erste Zeile
            zweite Zeile

            • eins
            • zwei

            3. drei
            4. vier

            Siehe den Termin <https://example.org/termin> oder a@example.org.

            [Logo]

            a\tb
            """)
        for absent in ["alert", "color", "<p", "<script", "tracker", "Kommentar", "T\n"] {
            #expect(!text.contains(absent))
        }
    }

    @Test func brokenHTMLAndLimits() throws {
        #expect(HTMLText.convert(Array("<p>offen <b>fett<div>x".utf8)) == "offen fett\n\nx")
        #expect(HTMLText.convert(Array(repeating: 0x41, count: 5 << 20)) == nil)
        var limits = HTMLText.Limits()
        limits.maximumOutputScalars = 10
        #expect(HTMLText.convert(Array("<p>\(String(repeating: "x", count: 100))</p>".utf8), limits: limits)
            == String(repeating: "x", count: 10) + "…")
        let deep = String(repeating: "<div>", count: 5000) + "tief" + String(repeating: "</div>", count: 5000)
        #expect(HTMLText.convert(Array(deep.utf8))?.contains("tief") != nil)
    }

    @Test func htmlOnlyMailIsShownConvertedAndStillDownloadable() throws {
        let body = MessageDisplayTests.crlf("""
            MIME-Version: 1.0
            Content-Type: text/html; charset=windows-1251

            <p>\u{0}</p>
            """).map { $0 == 0 ? 0xCF : $0 }  // 0xCF is "П" in windows-1251
        let parts = MessageDisplay(body: body).parts
        #expect(parts.first == .text("П"))
        guard case .withheld(let index, "text/html", _) = parts.last else {
            Issue.record("expected the HTML original offered")
            return
        }
        #expect(MessageDisplay.withheldContent(body, index: index)?.contains(0xCF) == true)
    }
}
