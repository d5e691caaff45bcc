import MailBridge
import MailValues
import Testing

struct AutoReplyPolicyTests {
    static let own = [try! EmailAddress("beratung@example.org"), try! EmailAddress("noreply-bridge@example.org")]

    private func decide(sender: String?, _ headers: String) throws -> AutoReplyDecision {
        let message = try MIMEParser().parse(.crlf(headers + "\n\nbody\n"))
        return AutoReplyPolicy.decide(
            envelopeSender: try sender.map { try EmailAddress($0) }, headers: message.headers, ownAddresses: Self.own)
    }

    @Test func ordinaryMailGetsReply() throws {
        #expect(
            try decide(sender: "klient@example.net", "From: klient@example.net\nAuto-Submitted: no\nPrecedence: normal")
                == .send)
    }

    @Test(arguments: [
        (nil as String?, "From: klient@example.net", AutoReplyDecision.Reason.nullSender),
        ("MAILER-DAEMON@example.net", "From: klient@example.net", .systemSender),
        ("postmaster@example.net", "From: klient@example.net", .systemSender),
        ("owner-list@example.net", "From: klient@example.net", .systemSender),
        ("list-request@example.net", "From: klient@example.net", .systemSender),
        ("no-reply@example.net", "From: klient@example.net", .systemSender),
        ("klient@example.net", "From: klient@example.net\nAuto-Submitted: auto-replied", .autoSubmitted),
        ("klient@example.net", "From: klient@example.net\nAuto-Submitted: auto-generated (vacation)", .autoSubmitted),
        ("klient@example.net", "From: klient@example.net\nAuto-Submitted: ", .autoSubmitted),
        ("klient@example.net", "From: klient@example.net\nPrecedence: bulk", .precedence),
        ("klient@example.net", "From: klient@example.net\nPrecedence: List", .precedence),
        ("klient@example.net", "From: klient@example.net\nPrecedence: junk", .precedence),
        ("klient@example.net", "From: klient@example.net\nList-Id: <x.example.net>", .listHeader),
        ("klient@example.net", "From: klient@example.net\nList-Unsubscribe: <mailto:u@example.net>", .listHeader),
        ("klient@example.net", "From: klient@example.net\nX-Auto-Response-Suppress: DR, OOF", .autoResponseSuppressed),
        ("klient@example.net", "From: klient@example.net\nX-Auto-Response-Suppress: All", .autoResponseSuppressed),
        ("klient@example.net", "From: klient@example.net\nX-Autoreply: yes", .autoReplyHeader),
        ("klient@example.net", "From: klient@example.net\nX-Autorespond: yes", .autoReplyHeader),
        ("Beratung@Example.org", "From: klient@example.net", .ownAddress),
        ("klient@example.net", "From: BERATUNG@example.org", .ownAddress),
        (
            "klient@example.net",
            "From: klient@example.net\nContent-Type: multipart/report; report-type=delivery-status; boundary=x",
            .deliveryReport
        ),
    ])
    func suppresses(_ sender: String?, _ headers: String, _ reason: AutoReplyDecision.Reason) throws {
        #expect(try decide(sender: sender, headers) == .suppress(reason))
    }

    @Test func autoResponseSuppressWithoutOOFStillReplies() throws {
        #expect(
            try decide(sender: "klient@example.net", "From: klient@example.net\nX-Auto-Response-Suppress: DR, RN")
                == .send)
    }
}
