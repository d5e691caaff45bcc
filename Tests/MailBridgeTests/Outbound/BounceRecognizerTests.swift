import MailBridge
import MailValues
import Testing

/// DSN and automatic-mail recognition on raw text (RFC 3464, RFC 6522, RFC 3834), pure.
struct BounceRecognizerTests {
    static let dsn = """
        From: MAILER-DAEMON@mx.example.net\r
        To: gateway@example.org\r
        Subject: Undelivered Mail Returned to Sender\r
        MIME-Version: 1.0\r
        Content-Type: multipart/report;\r
        \treport-type="delivery-status";\r
        \tboundary="B0UND.ary=1"\r
        \r
        This is a MIME-encapsulated message.\r
        \r
        --B0UND.ary=1\r
        Content-Type: text/plain\r
        \r
        Your message could not be delivered.\r
        --B0UND.ary=1\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.net\r
        \r
        Final-Recipient: rfc822; client@example.net\r
        Action: failed\r
        Status: 5.1.1\r
        \r
        --B0UND.ary=1\r
        Content-Type: text/rfc822-headers\r
        \r
        From: gateway@example.org\r
        Message-ID:\r
         <reply-42@gateway.example.org>\r
        Subject: A new reply is waiting\r
        \r
        --B0UND.ary=1--\r

        """

    @Test func deliveryStatusWithOriginalMessageID() {
        let verdict = BounceRecognizer.classify(rawMessage: Array(Self.dsn.utf8), reversePath: .null)
        #expect(verdict == .deliveryStatus(originalMessageID: "<reply-42@gateway.example.org>"))
        #expect(verdict.suppressesAutoReply)
        #expect(!"\(verdict)".contains("gateway"), "description is redacted")
    }

    @Test func deliveryStatusWithoutReturnedHeaders() {
        let text = "Content-Type: Multipart/Report; boundary=x; Report-Type=Delivery-Status\r\n\r\n--x\r\n"
            + "Content-Type: message/delivery-status\r\n\r\nAction: failed\r\n--x--\r\n"
        #expect(BounceRecognizer.classify(rawMessage: Array(text.utf8), reversePath: .null)
            == .deliveryStatus(originalMessageID: nil))
    }

    @Test(arguments: [
        ("Content-Type: multipart/report; report-type=disposition-notification; boundary=a\r\n\r\n", false),
        ("Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nbody\r\n", false),
        ("Subject: hello\r\n\r\nbody\r\n", true),
    ])
    func automaticMail(_ text: String, _ nullPathMatters: Bool) {
        let sender = ReversePath.mailbox(try! EmailAddress("someone@example.net"))
        let verdict = BounceRecognizer.classify(rawMessage: Array(text.utf8), reversePath: sender)
        #expect(verdict == (nullPathMatters ? .ordinary : .automatic))
        #expect(BounceRecognizer.classify(rawMessage: Array(text.utf8), reversePath: .null) == .automatic)
    }

    @Test func autoSubmittedNoIsOrdinary() {
        let text = "Auto-Submitted: no\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        #expect(BounceRecognizer.classify(rawMessage: Array(text.utf8), reversePath: nil) == .ordinary)
    }

    @Test func hugeAndHostileInputStaysBounded() {
        var text = "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        text += String(repeating: "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n", count: 50_000)
        let verdict = BounceRecognizer.classify(rawMessage: Array(text.utf8), reversePath: .null)
        #expect(verdict == .deliveryStatus(originalMessageID: nil))
    }
}
