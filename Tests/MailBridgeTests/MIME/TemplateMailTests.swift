import Foundation
import MailBridge
import MailValues
import Testing

struct TemplateMailTests {
    static let ours = try! EmailAddress("beratung@example.org")
    static let link = try! PlatformLink("https://beratung.example.org/start?org=42")

    static func mail(
        to: EmailAddress, template: RedirectTemplate = .german, reference: String? = "T-4711"
    ) throws -> TemplateMail {
        TemplateMail(
            template: template, link: link, reference: try reference.map { try OpaqueReference($0) }, from: ours,
            to: to,
            kind: .redirect, messageID: try OutgoingMessageID(domain: "example.org"),
            date: Date(timeIntervalSince1970: 1_795_000_000))
    }

    @Test func rendersStrictRFC5322AndRoundTripsThroughOurParser() throws {
        let mail = try Self.mail(to: try EmailAddress("klient@example.net"))
        let bytes = try PlainOutgoingMail(mail).bytes
        let wireSafe = WireCheck.isWireSafe(bytes, limit: 78)
        let ascii = bytes.allSatisfy { $0 < 0x80 }
        #expect(wireSafe && ascii)
        #expect(!WireCheck.lines(bytes).contains { $0.hasPrefix(".") })
        let parsed = try MIMEParser().parse(bytes)
        #expect(parsed.headers.first("Subject")?.decodedValue == RedirectTemplate.german.subject)
        #expect(parsed.headers.first("Auto-Submitted")?.value == "auto-replied")
        // python3: email.utils.formatdate(1795000000)
        #expect(parsed.headers.first("Date")?.value == "Wed, 18 Nov 2026 11:06:40 +0000")
        #expect(parsed.headers.first("MIME-Version")?.value == "1.0")
        #expect(try SenderIdentity(headers: parsed.headers).address == Self.ours)
        #expect(parsed.root.transferEncoding == .quotedPrintable)
        #expect(try parsed.root.text() == mail.bodyText.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
        #expect(try parsed.root.text().contains("https://beratung.example.org/start?org=42"))
        #expect(try parsed.root.text().contains("Referenz: T-4711"))
    }

    @Test func pythonParsesItWithoutDefects() throws {
        let bytes = try PlainOutgoingMail(try Self.mail(to: try EmailAddress("klient@example.net"))).bytes
        let out = try PythonMail.inspect(
            bytes,
            """
            print(len(msg.defects), sum(len(p.defects) for p in msg.walk()))
            print(msg["Subject"])
            print(msg["To"])
            print(msg["Auto-Submitted"])
            print(msg.get_content_type(), msg.get_content_charset())
            sys.stdout.write(msg.get_content())
            """)
        let lines = out.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        #expect(lines[0] == "0 0")
        #expect(lines[1] == RedirectTemplate.german.subject)
        #expect(lines[2] == "klient@example.net")
        #expect(lines[3] == "auto-replied")
        #expect(lines[4] == "text/plain utf-8")
        let body = try Self.mail(to: try EmailAddress("klient@example.net")).bodyText
        #expect(lines.dropFirst(5).joined(separator: "\n") == body + "\n")
    }

    /// Structural no-leak check: an inbound plain mail full of canaries goes through parse → identity →
    /// TemplateMail. The only inbound value TemplateMail accepts is the sender address (as To), so the
    /// output is exactly template + link + reference + our headers, and no canary appears.
    @Test func inboundCanariesNeverReachTemplateMail() throws {
        let canary = "CANARY-7f3a9"
        let inbound = try PythonMail.build(
            """
            msg = EmailMessage()
            msg["From"] = "\(canary) Display <klient@example.net>"
            msg["To"] = "beratung@example.org"
            msg["Subject"] = "Betreff \(canary) Grüße"
            msg["X-Custom"] = "\(canary)"
            msg.set_content("Body \(canary)\\n")
            msg.add_attachment(b"x", maintype="application", subtype="pdf", filename="\(canary).pdf")
            """)
        let parsed = try MIMEParser().parse(inbound)
        #expect(MessageClassifier.classify(parsed) == .plain)
        let sender = try SenderIdentity(headers: parsed.headers)
        let mail = try Self.mail(to: sender.address)
        let bytes = try PlainOutgoingMail(mail).bytes
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains(canary))
        #expect(!text.contains("Betreff"))

        // The output is fully determined by template, link, reference, addresses, date and message ID.
        let reparsed = try MIMEParser().parse(bytes)
        let names = reparsed.headers.map(\.name)
        #expect(
            names == [
                "From", "To", "Date", "Message-ID", "Subject", "Auto-Submitted", "MIME-Version",
                "Content-Type", "Content-Transfer-Encoding",
            ])
        let expectedBody = RedirectTemplate.german.body
            .replacingOccurrences(of: "{{link}}", with: Self.link.value)
            .replacingOccurrences(of: "{{reference}}", with: "T-4711")
        #expect(try reparsed.root.text() == expectedBody.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
        #expect(reparsed.headers.first("To")?.value == "klient@example.net")
        #expect(reparsed.headers.first("Message-ID")?.value == mail.messageID.value)
    }

    @Test(arguments: ["Betreff Hilfe", "CANARY\nBcc: x", "", String(repeating: "a", count: 65), "ä"])
    func opaqueReferenceRejectsText(_ text: String) {
        #expect(throws: BuilderError(.invalidReference)) { try OpaqueReference(text) }
    }

    @Test(arguments: [
        "http://beratung.example.org", "https://x.org/a b", "https://x.org/\"", "javascript:alert(1)",
        "https://x.org/\r\nBcc:",
    ])
    func platformLinkRejectsNonHTTPSAndText(_ text: String) {
        #expect(throws: BuilderError(.invalidLink)) { try PlatformLink(text) }
    }

    @Test func templateFileLoadsAndRejectsGarbage() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mb-tpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("de.txt")
        try "Subject: Ihre Nachricht – Hinweis\r\n\r\nBitte nutzen Sie {{link}}.\r\nRef {{reference}}\r\n".write(
            to: good, atomically: true, encoding: .utf8)
        let template = try RedirectTemplate(contentsOf: good)
        #expect(template.subject == "Ihre Nachricht – Hinweis")
        let bytes = try PlainOutgoingMail(
            try Self.mail(to: try EmailAddress("k@example.net"), template: template, reference: nil)
        ).bytes
        let parsed = try MIMEParser().parse(bytes)
        #expect(parsed.headers.first("Subject")?.decodedValue == "Ihre Nachricht – Hinweis")
        #expect(try parsed.root.text() == "Bitte nutzen Sie https://beratung.example.org/start?org=42.\r\nRef -\r\n")

        let bad = dir.appendingPathComponent("bad.txt")
        try "no subject line\n\nbody".write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: BuilderError(.invalidTemplate)) { try RedirectTemplate(contentsOf: bad) }
        #expect(throws: BuilderError(.invalidTemplate)) {
            try RedirectTemplate(contentsOf: dir.appendingPathComponent("missing"))
        }
    }

    @Test func notificationKindIsAutoGenerated() throws {
        let mail = TemplateMail(
            template: .english, link: Self.link, reference: try OpaqueReference("thread-01"), from: Self.ours,
            to: try EmailAddress("counsellor@example.org"), kind: .notification,
            messageID: try OutgoingMessageID(domain: "example.org"))
        let parsed = try MIMEParser().parse(try PlainOutgoingMail(mail).bytes)
        #expect(parsed.headers.first("Auto-Submitted")?.value == "auto-generated")
    }

    @Test func descriptionsAreRedacted() throws {
        let mail = try Self.mail(to: try EmailAddress("klient@example.net"))
        let shown = "\(mail) \(try PlainOutgoingMail(mail))"
        #expect(!shown.contains("klient"))
    }
}
