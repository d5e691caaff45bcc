import MailBridge
import NIOCore
import Testing

/// Output encoding of message data (RFC 5321 §4.5.2, §2.3.8, §4.5.3.1.6), pure.
struct DotStufferTests {
    static func encode(_ text: String) throws -> String {
        let encoded = try DotStuffer.encode(ByteBuffer(string: text))
        return String(buffer: encoded.data)
    }

    @Test(arguments: [
        ("a\r\n", "a\r\n.\r\n"),
        (".\r\n", "..\r\n.\r\n"),
        ("x\r\n.\r\ny\r\n", "x\r\n..\r\ny\r\n.\r\n"),
        ("..two\r\n.\r\n", "...two\r\n..\r\n.\r\n"),
        ("no final newline", "no final newline\r\n.\r\n"),
        ("", ".\r\n"),
        ("a.b\r\n", "a.b\r\n.\r\n"),
    ])
    func stuffsLeadingDots(_ input: String, _ expected: String) throws {
        #expect(try Self.encode(input) == expected)
    }

    @Test(arguments: [
        ("a\rb\r\n", DotStuffer.EncodingError.Code.bareCarriageReturn, 1),
        ("a\r\nb\nc\r\n", .bareLineFeed, 2),
        ("a\r\n\r\n.\n", .bareLineFeed, 3),
        ("trailing CR\r", .bareCarriageReturn, 1),
        ("a\u{0}b\r\n", .nul, 1),
    ])
    func refusesBareLineBreaks(_ input: String, _ code: DotStuffer.EncodingError.Code, _ line: Int) {
        #expect(throws: DotStuffer.EncodingError(code: code, line: line)) { try Self.encode(input) }
    }

    @Test func lineLengthLimit() throws {
        let longest = String(repeating: "x", count: 998)
        #expect(try Self.encode(longest + "\r\n") == longest + "\r\n.\r\n")
        #expect(throws: DotStuffer.EncodingError(code: .lineTooLong, line: 2)) {
            try Self.encode("ok\r\n" + longest + "x\r\n")
        }
        // Stuffing counts: a 998-octet line starting with "." would be 999 on the wire.
        #expect(throws: DotStuffer.EncodingError(code: .lineTooLong, line: 1)) {
            try Self.encode("." + String(repeating: "x", count: 997) + "\r\n")
        }
    }

    @Test func sizeAndEightBit() throws {
        let ascii = try DotStuffer.encode(ByteBuffer(string: ".a\r\n"))
        #expect(ascii.messageSize == 4)
        #expect(!ascii.has8BitContent)
        let utf8 = try DotStuffer.encode(ByteBuffer(string: "Grüße\r\n"))
        #expect(utf8.has8BitContent)
    }

    /// Round trip through the inbound DataReader: what we stuff, a receiver unstuffs to the same bytes.
    @Test func roundTripThroughDataReader() throws {
        let message = "Subject: t\r\n\r\n.\r\n..\r\n.hidden\r\nend\r\n"
        let encoded = try DotStuffer.encode(ByteBuffer(string: message))
        var reader = DataReader(maximumMessageSize: 1 << 16, maximumLineLength: 1000, maximumHeaderSize: 1 << 12)
        var output = ByteBuffer()
        var view = encoded.data
        var finished = false
        while let lineEnd = view.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let line = view.readSlice(length: lineEnd - view.readerIndex + 1)!
            switch reader.consume(line, endsLine: true) {
            case .content(var bytes): output.writeBuffer(&bytes)
            case .endOfData: finished = true
            }
        }
        #expect(finished)
        #expect(reader.rejection == nil)
        #expect(String(buffer: output) == message)
        #expect(view.readableBytes == 0, "nothing after the terminator")
    }
}
