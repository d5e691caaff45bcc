import MailBridge
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

struct SMTPFramingDecoderTests {
    static func line(_ text: String, endsLine: Bool = true) -> SMTPFrame {
        SMTPFrame(bytes: ByteBuffer(string: text), endsLine: endsLine)
    }

    /// The verifier feeds each input whole, byte by byte, and in random chunks, and checks the same frames come out.
    @Test func verifierAcceptsAllSplits() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: [
                ("EHLO a\r\n", [Self.line("EHLO a\r\n")]),
                ("NOOP\r\nRSET\r\nQUIT\r\n", [Self.line("NOOP\r\n"), Self.line("RSET\r\n"), Self.line("QUIT\r\n")]),
                ("a\rb\r\n", [Self.line("a\rb\r\n")]),  // CR is not a line end
                ("a\nb\r\n", [Self.line("a\n"), Self.line("b\r\n")]),
                ("\u{0B}x\u{0C}\r\n", [Self.line("\u{0B}x\u{0C}\r\n")]),  // VT/FF are not line ends
                ("0123456789\r\n", [Self.line("01234567", endsLine: false), Self.line("89\r\n")]),
                // A CR at the cut point stays with its LF.
                ("0123456\r\nX\r\n", [Self.line("0123456", endsLine: false), Self.line("\r\n"), Self.line("X\r\n")]),
                ("0123456\r\r\n", [Self.line("0123456", endsLine: false), Self.line("\r\r\n")]),
                (
                    String(repeating: "y", count: 20) + "\n",
                    [
                        Self.line("yyyyyyyy", endsLine: false), Self.line("yyyyyyyy", endsLine: false),
                        Self.line("yyyy\n"),
                    ]
                ),
            ],
            decoderFactory: { SMTPFramingDecoder(maximumLineLength: 8) }
        )
    }

    /// Byte-at-a-time through a real pipeline with the bounded `ByteToMessageHandler`, including a long line.
    @Test func byteAtATimeWithBoundedBuffer() throws {
        let gate = SMTPFramingGate()
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(SMTPFramingDecoder(maximumLineLength: 16, gate: gate), maximumBufferSize: 32)
        )
        let input = "MAIL FROM:<a@example.org>\r\n.\r\nxy"
        for byte in input.utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            #expect(gate.bufferedBytes < 16)
        }
        var frames: [SMTPFrame] = []
        while let frame = try channel.readInbound(as: SMTPFrame.self) { frames.append(frame) }
        #expect(
            frames == [
                Self.line("MAIL FROM:<a@exa", endsLine: false), Self.line("mple.org>\r\n"), Self.line(".\r\n"),
            ]
        )
        #expect(gate.emittedFrames == 3)
        #expect(gate.bufferedBytes == 2, "the partial line 'xy' is held")
        _ = try channel.finish()
    }

    /// A single read far larger than any line still leaves less than one line buffered.
    @Test func bigReadIsFramedWithoutGrowingTheBuffer() throws {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(SMTPFramingDecoder(maximumLineLength: 1000), maximumBufferSize: 2000)
        )
        let big = ByteBuffer(repeating: UInt8(ascii: "z"), count: 1_000_000)
        try channel.writeInbound(big)
        var total = 0
        var count = 0
        while let frame = try channel.readInbound(as: SMTPFrame.self) {
            #expect(!frame.endsLine && frame.bytes.readableBytes == 1000)
            total += frame.bytes.readableBytes
            count += 1
        }
        #expect(total == 1_000_000 && count == 1000)
        _ = try channel.finish()
    }
}
