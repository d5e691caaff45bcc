import Foundation
import Testing
@testable import MailBridge

/// What the inbox shows of a decrypted body (pure): only text/plain as text, everything else withheld; file names
/// and control characters made harmless; HTML escaping.
@Suite struct MessageDisplayTests {
    static func crlf(_ text: String) -> [UInt8] { Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    @Test func htmlOnlyMailShowsConvertedTextAndOffersTheHTMLAsDownload() {
        let body = Self.crlf("""
            Content-Type: text/html; charset=utf-8

            <p>Hallo <img src="https://tracker.example/p.gif"></p>
            """)
        let display = MessageDisplay(body: body)
        #expect(display.parts.count == 2)
        #expect(display.parts.first == .text("Hallo"))
        guard case .withheld(let index, let mediaType, _) = display.parts.last else {
            Issue.record("expected a withheld part")
            return
        }
        #expect(mediaType == "text/html")
        #expect(MessageDisplay.withheldContent(body, index: index).map { String(decoding: $0, as: UTF8.self) }?
            .contains("tracker.example") == true)
        #expect(MessageDisplay.withheldContent(body, index: index + 1) == nil)
    }

    @Test func plainAlternativeIsShownAndAttachmentsAreLeftToTheAttachmentList() {
        let body = Self.crlf("""
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: multipart/alternative; boundary="a"

            --a
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            Gr=FC=DFe
            --a
            Content-Type: text/html

            <b>Gr&uuml;&szlig;e</b>
            --a--
            --m
            Content-Type: application/pdf; name="x.pdf"
            Content-Disposition: attachment; filename="x.pdf"

            %PDF
            --m--
            """)
        let parts = MessageDisplay(body: body).parts
        #expect(parts.count == 2)
        #expect(parts.first == .text("Grüße"))
        if case .withheld(_, let mediaType, _) = parts.last { #expect(mediaType == "text/html") } else {
            Issue.record("expected the HTML alternative withheld")
        }
    }

    @Test func bareTextFromInlinePGPIsTextWithControlsNeutralised() {
        let parts = MessageDisplay(body: Array("Zeile 1\r\nZeile 2\u{1B}[31m\u{7}\r\n".utf8)).parts
        #expect(parts == [.text("Zeile 1\nZeile 2\u{FFFD}[31m\u{FFFD}\n")])
        #expect(MessageDisplay(body: []).parts.isEmpty)
    }

    @Test func aBodyThatDeclaresMIMEButDoesNotParseIsWithheldWhole() {
        let nested = String(repeating: "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n", count: 300)
        let body = Array(nested.utf8)
        let parts = MessageDisplay(body: body).parts
        #expect(parts.count == 1)
        if case .withheld(let index, _, let size) = parts.first {
            #expect(size == body.count && MessageDisplay.withheldContent(body, index: index) == body)
        } else {
            Issue.record("expected the whole body withheld")
        }
    }

    @Test(arguments: [
        ("rechnung\u{202E}fdp.exe", "rechnung\u{FFFD}fdp.exe"),
        ("a\u{0}b\u{200B}c", "a\u{FFFD}b\u{FFFD}c"),
        ("", "attachment"),
        ("Brief an Frau Müller.pdf", "Brief an Frau Müller.pdf"),
    ])
    func fileNamesLoseInvisibleFormatting(name: String, shown: String) {
        #expect(MessageDisplay.safeFileName(name) == shown)
    }

    @Test func contentDispositionIsAnAttachmentWithASCIIFallbackAndRFC8187Name() {
        #expect(WebResponses.contentDisposition(fileName: "Brief \"Ä\";.pdf")
                == "attachment; filename=\"Brief_____.pdf\"; filename*=UTF-8''Brief%20%22%C3%84%22%3B.pdf")
    }

    @Test func htmlInterpolationEscapesStringsButNotFragments() {
        let name = "<script>alert('x')</script> & \"q\""
        let cell: HTML = "<td title=\"\(name)\">\(name)</td>"
        #expect(cell.rendered == "<td title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\">"
            + "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</td>")
        let row: HTML = "<tr>\(cell)</tr>"
        #expect(row.rendered.hasPrefix("<tr><td title="))
    }
}

/// Issue 27 step 1: an entity is never shown as its source, whatever its first header field or line ends.
@Suite struct MessageDisplayEntityTests {
    @Test(arguments: [
        "Content-Transfer-Encoding: base64\nContent-Type: text/plain; charset=utf-8\n\nR3LDvMOfZQ==\n",
        "Subject: Hilfe\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nGrüße\n",
        "Subject: Hilfe\nContent-Transfer-Encoding: 8bit\nContent-Type: text/plain; charset=utf-8\n\nGrüße\n",
    ])
    func headerBlockIsNeverShown(_ text: String) {
        for body in [Array(text.utf8), MessageDisplayTests.crlf(text)] {
            let parts = MessageDisplay(body: body).parts
            #expect(parts == [.text("Grüße\n")] || parts == [.text("Grüße")])
        }
    }

    @Test func threadShowPrintsNoMIMESource() {
        let body = MessageDisplayTests.crlf("""
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: image/png

            iVBORw0KGgo=
            --m
            Content-Type: text/plain; charset=utf-8

            Text\u{1B}[31m
            --m--
            """)
        let text = ThreadsAdmin.readableText(body)
        #expect(!text.contains("MIME-Version") && !text.contains("iVBOR") && !text.contains("--m"))
        #expect(text.contains("Text") && text.contains("image/png"))
        let framedLines = DisplayText.lines(text)
        #expect(!framedLines.joined().contains("\u{1B}"))
    }
}
