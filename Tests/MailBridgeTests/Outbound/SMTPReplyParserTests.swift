import MailBridge
import NIOCore
import Testing

/// Reply grammar and limits (RFC 5321 §4.2), pure.
struct SMTPReplyParserTests {
    static func frames(_ text: String) -> [SMTPFrame] {
        Array(text.utf8).split(separator: 10, omittingEmptySubsequences: false).dropLast().map {
            SMTPFrame(bytes: ByteBuffer(bytes: $0 + [10]), endsLine: true)
        }
    }

    static func parse(_ text: String, limits: SMTPReplyParser.Limits = .init()) throws -> [SMTPReply] {
        var parser = SMTPReplyParser(limits: limits)
        var replies: [SMTPReply] = []
        for frame in frames(text) {
            if let reply = try parser.consume(frame) { replies.append(reply) }
        }
        return replies
    }

    @Test func singleLineWithEnhancedCode() throws {
        let replies = try Self.parse("250 2.1.0 Sender ok\r\n")
        #expect(replies.count == 1)
        #expect(replies[0].code == .ok)
        #expect(replies[0].enhanced == EnhancedStatusCode(2, 1, 0))
        #expect(replies[0].text == "Sender ok")
    }

    @Test func multiLineEHLO() throws {
        let replies = try Self.parse("250-mx.test Hello\r\n250-SIZE 1000\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
        #expect(replies.count == 1)
        #expect(replies[0].precedingLines == ["mx.test Hello", "SIZE 1000", "STARTTLS"])
        let extensions = ServerExtensions(ehloReply: replies[0])
        #expect(extensions.startTLS)
        #expect(extensions.sizeLimit == 1000)
        #expect(extensions.authMechanisms == ["PLAIN", "LOGIN"])
        #expect(!extensions.smtpUTF8)
    }

    @Test func bareCodeAndTwoRepliesInARow() throws {
        let replies = try Self.parse("220\r\n451 4.3.0 later\r\n")
        #expect(replies.map(\.code) == [.serviceReady, .localError])
        #expect(replies[1].enhanced == EnhancedStatusCode(4, 3, 0))
    }

    @Test func enhancedCodeOfOtherClassIsText() throws {
        let replies = try Self.parse("550 2.0.0 odd\r\n")
        #expect(replies[0].enhanced == nil)
        #expect(replies[0].text == "2.0.0 odd")
    }

    @Test(arguments: [
        "250 ok\n",  // bare LF
        "250 o\rk\r\n",  // bare CR
        "25 ok\r\n",  // two digits
        "650 ok\r\n",  // first digit out of range
        "260 ok\r\n",  // second digit out of range
        "250_ok\r\n",  // bad separator
        "250-a\r\n251 b\r\n",  // code changes inside a reply
        "250 a\u{1}b\r\n",  // control character
    ])
    func malformedRepliesAreRefused(_ text: String) {
        #expect(throws: DeliveryFailure(.malformedReply)) { try Self.parse(text) }
    }

    @Test func overlongLineIsRefused() {
        var parser = SMTPReplyParser(limits: .init(maximumLineLength: 16, maximumLines: 4))
        // The framer cuts long lines into fragments that do not end a line.
        #expect(throws: DeliveryFailure(.malformedReply)) {
            try parser.consume(SMTPFrame(bytes: ByteBuffer(string: "250 0123456789ab"), endsLine: false))
        }
        var second = SMTPReplyParser(limits: .init(maximumLineLength: 16, maximumLines: 4))
        #expect(throws: DeliveryFailure(.malformedReply)) {
            try second.consume(SMTPFrame(bytes: ByteBuffer(string: "250 0123456789abc\r\n"), endsLine: true))
        }
    }

    @Test func tooManyLinesAreRefused() throws {
        let limits = SMTPReplyParser.Limits(maximumLineLength: 100, maximumLines: 3)
        #expect(try Self.parse("250-a\r\n250-b\r\n250 c\r\n", limits: limits).count == 1)
        #expect(throws: DeliveryFailure(.malformedReply)) {
            try Self.parse("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", limits: limits)
        }
    }
}
