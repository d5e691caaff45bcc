import MailBridge
import MailValues
import NIOCore
import Testing

struct SMTPCommandParserTests {
    let parser = SMTPCommandParser(maximumLineLength: 640)

    func parse(_ line: String) throws(SMTPReply) -> SMTPCommand {
        try parser.parse(ByteBuffer(string: line))
    }

    @Test(arguments: [
        ("EHLO client.example\r\n", SMTPCommand.ehlo("client.example")),
        ("ehlo [192.0.2.1]\r\n", .ehlo("[192.0.2.1]")),
        ("HELO client.example\r\n", .helo("client.example")),
        ("DATA\r\n", .data),
        ("rset\r\n", .rset),
        ("NOOP\r\n", .noop),
        ("NOOP anything at all\r\n", .noop),
        ("QUIT\r\n", .quit),
        ("StartTLS\r\n", .startTLS),
        ("HELP\r\n", .help),
        ("VRFY someone\r\n", .vrfy),
    ])
    func parsesSimpleCommands(_ line: String, _ expected: SMTPCommand) throws {
        #expect(try parse(line) == expected)
    }

    @Test func parsesMailWithParameters() throws {
        let command = try parse("MAIL FROM:<Sender@Example.org> SIZE=1234 BODY=8BITMIME SMTPUTF8\r\n")
        guard case .mailFrom(let path, let parameters) = command else {
            Issue.record("not MAIL")
            return
        }
        #expect(path.address?.unredactedDescription == "Sender@example.org")
        #expect(parameters == MailParameters(size: 1234, body: .eightBitMIME, smtpUTF8: true))
    }

    @Test func parsesNullReversePathAndSourceRoute() throws {
        #expect(try parse("MAIL FROM:<>\r\n") == .mailFrom(.null, parameters: MailParameters()))
        #expect(try parse("mail from: <>\r\n") == .mailFrom(.null, parameters: MailParameters()))
        let routed = try parse("RCPT TO:<@relay.example,@b.example:beratung@example.org>\r\n")
        #expect(routed == .rcptTo(try EmailAddress("beratung@example.org")))
    }

    @Test func parsesQuotedLocalPartWithBracket() throws {
        let command = try parse("RCPT TO:<\"a>b\"@example.org>\r\n")
        #expect(command == .rcptTo(try EmailAddress("\"a>b\"@example.org")))
    }

    @Test(arguments: [
        // bare CR or LF inside a command line (SMTP smuggling, RFC 5321 §2.3.8)
        ("RSET\rQUIT\r\n", ReplyCode.syntaxError),
        ("RSET\nQUIT\r\n", .syntaxError),
        ("RSET\n", .syntaxError),
        ("RSET\r", .syntaxError),
        ("RSET", .syntaxError),
        ("NOOP \u{0}\r\n", .syntaxError),
        ("FOO\r\n", .syntaxError),
        ("EXPN list\r\n", .commandNotImplemented),
        ("AUTH PLAIN xyz\r\n", .commandNotImplemented),
        ("EHLO\r\n", .parameterSyntaxError),
        ("DATA now\r\n", .parameterSyntaxError),
        ("STARTTLS x\r\n", .parameterSyntaxError),
        ("MAIL <a@example.org>\r\n", .parameterSyntaxError),
        ("MAIL FROM:a@example.org\r\n", .parameterSyntaxError),
        ("MAIL FROM:<a@example.org\r\n", .parameterSyntaxError),
        ("MAIL FROM:<not an address>\r\n", .parameterSyntaxError),
        ("MAIL FROM:<a@example.org> SIZE=abc\r\n", .parameterSyntaxError),
        ("MAIL FROM:<a@example.org> SIZE=99999999999999999999\r\n", .parameterSyntaxError),
        ("MAIL FROM:<a@example.org> SIZE=1 SIZE=2\r\n", .parameterSyntaxError),
        ("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n", .parameterSyntaxError),
        ("MAIL FROM:<a@example.org> AUTH=<>\r\n", .parametersNotRecognized),
        ("MAIL FROM:<a@example.org>SIZE=1\r\n", .parameterSyntaxError),
        ("RCPT TO:<>\r\n", .parameterSyntaxError),
        ("RCPT TO:<b@example.org> NOTIFY=NEVER\r\n", .parametersNotRecognized),
        ("VRFY\r\n", .parameterSyntaxError),
    ])
    func rejectsInvalidLines(_ line: String, _ code: ReplyCode) {
        #expect {
            try parse(line)
        } throws: { error in
            (error as? SMTPReply)?.code == code
        }
    }

    @Test func rejectsOverlongLine() {
        let line = "NOOP " + String(repeating: "x", count: 640) + "\r\n"
        #expect(throws: SMTPReply(.syntaxError, .syntaxError, "")) { try parse(line) }
        let fits = "NOOP " + String(repeating: "x", count: 640 - 7) + "\r\n"
        #expect(throws: Never.self) { try parse(fits) }
    }

    @Test func errorTextNeverEchoesInput() {
        do {
            _ = try parse("MAIL FROM:<secret-person@example.org> X-SECRET=leak\r\n")
            Issue.record("expected an error")
        } catch {
            var buffer = ByteBuffer()
            error.encode(into: &buffer)
            let wire = String(buffer: buffer)
            #expect(!wire.contains("secret"))
            #expect(!"\(error)".contains("secret"))
        }
    }
}
