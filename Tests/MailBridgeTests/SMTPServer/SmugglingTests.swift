import MailBridge
import NIOCore
import Testing

/// SMTP smuggling (CVE-2023-51764/51765/51766 family): a fake end-of-data made of bare CR or LF must neither end
/// the data nor let the following text be read as commands. Each input is rejected, and the reader stays in sync
/// until the real `<CRLF>.<CRLF>`.
struct SmugglingTests {
    static let fakeTerminators = [
        "\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r.\n", "\n.\r", "\r\n.\r", "\r.\r\n",
    ]
    static let smuggled = "MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nforged\r\n"

    @Test(arguments: fakeTerminators)
    func fakeTerminatorIsRejectedAndReaderStaysInSync(_ fake: String) {
        let input = "Subject: hi\r\n\r\nbody" + fake + Self.smuggled + ".\r\nNOOP\r\n"
        let result = readData(input)
        #expect(result.rejection == .bareCarriageReturnOrLineFeed)
        #expect(result.finished)
        #expect(result.rest == "NOOP\r\n", "the real end of data was found, nothing smuggled became a command")
    }

    @Test(arguments: ["a\rb\r\n", "a\nb\r\n", "\r\r\n", "\n", "x\r\n\r"])
    func bareCROrLFInTheMiddleOfDataIsRejected(_ line: String) {
        let result = readData("Subject: x\r\n\r\n" + line + "\r\n.\r\nNOOP\r\n")
        #expect(result.rejection == .bareCarriageReturnOrLineFeed)
        #expect(result.rest == "NOOP\r\n")
    }

    @Test(arguments: ["NOOP\nRSET\r\n", "NOOP\rRSET\r\n", "NOOP\r\r\n"])
    func bareCROrLFInCommandsIsRejected(_ line: String) {
        let parser = SMTPCommandParser(maximumLineLength: 640)
        for (fragment, _) in framedFragments(Array(line.utf8)) {
            // Every framed piece either fails or is the clean trailing command; nothing hidden gets through.
            if let command = try? parser.parse(fragment) {
                #expect(command == .rset && String(buffer: fragment) == "RSET\r\n")
            }
        }
        #expect(throws: SMTPReply.self) { try parser.parse(ByteBuffer(string: line)) }
    }
}
