import Testing
@testable import MailBridge

/// Forwarded mail, format=flowed, generated attachment names (issue 27, steps 4 and 5).
@Suite struct ForwardedDisplayTests {
    static let forwardedBody = MessageDisplayTests.crlf("""
        Content-Type: multipart/mixed; boundary="o"
        Subject: Fwd: Bescheid

        --o
        Content-Type: text/plain; charset=utf-8

        Hier der Bescheid.
        --o
        Content-Type: message/rfc822

        From: =?utf-8?q?Amt_f=C3=BCr_Soziales?= <amt@example.org>
        Date: Mon, 1 Dec 2026 10:00:00 +0100
        Subject: =?koi8-r?B?8NLJ?= Bescheid
        Content-Type: multipart/mixed; boundary="i"

        --i
        Content-Type: text/plain; charset=utf-8

        Sehr geehrte Frau K.
        --i
        Content-Type: application/pdf
        Content-Disposition: attachment; filename="bescheid.pdf"

        %PDF-1.4
        --i--
        --o--
        """)

    @Test func forwardedMessageIsFramedWithItsOwnHeadersTextAndAttachments() throws {
        let parts = MessageDisplay(body: Self.forwardedBody).parts
        #expect(parts.first == .text("Hier der Bescheid."))
        guard case .forwarded(let forwarded) = parts.last else {
            Issue.record("expected a forwarded frame")
            return
        }
        #expect(forwarded.from == "Amt für Soziales <amt@example.org>")
        #expect(forwarded.subject == "При Bescheid")
        #expect(forwarded.date.hasPrefix("Mon, 1 Dec 2026"))
        #expect(forwarded.parts == [.text("Sehr geehrte Frau K.")])
        #expect(forwarded.attachments.map(\.name) == ["bescheid.pdf"])
        let pdfIndex = forwarded.attachments[0].index
        let pdf = try #require(MessageDisplay.withheldContent(Self.forwardedBody, index: pdfIndex))
        #expect(pdf == Array("%PDF-1.4".utf8))
        let eml = try #require(MessageDisplay.withheldContent(Self.forwardedBody, index: forwarded.messageIndex))
        #expect(String(decoding: eml, as: UTF8.self).hasPrefix("From: =?utf-8?q?Amt"))
        let text = MessageDisplay.plainText(parts)
        #expect(text.contains("---------- Forwarded message ----------\nFrom: Amt für Soziales"))
    }

    @Test func theClientsAttachmentsAreTheForwardedEMLNotItsContents() throws {
        let message = try #require(DecryptedEntity(Self.forwardedBody).message)
        let found = InnerAttachments(message.root)
        #expect(found.attachments.map(\.name) == ["attachment-1.eml"])
        #expect(found.attachments.map(\.mediaType) == ["message/rfc822"])
    }

    @Test func partsNamedOnlyByTypeGetGeneratedNames() throws {
        let body = MessageDisplayTests.crlf("""
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: text/plain

            x
            --m
            Content-Type: application/pdf
            Content-Disposition: attachment

            %PDF
            --m
            Content-Type: image/jpeg
            Content-Disposition: attachment

            jpg
            --m--
            """)
        let found = InnerAttachments(try #require(DecryptedEntity(body).message).root)
        #expect(found.attachments.map(\.name) == ["attachment-1.pdf", "attachment-2.jpg"])
    }

    @Test func flowedTextIsReflowedAndUnstuffed() {
        let flowed = "Das ist ein \nlanger Satz.\n>> zitiert \n>> weiter\n From here\n-- \nK."
        #expect(FlowedText.decode(flowed, deleteSpace: false)
            == "Das ist ein langer Satz.\n>> zitiert weiter\nFrom here\n-- \nK.")
        #expect(FlowedText.decode("ab \ncd", deleteSpace: true) == "abcd")
    }
}
