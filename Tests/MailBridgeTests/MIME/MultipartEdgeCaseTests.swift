import Foundation
import Testing
@testable import MailBridge

/// Issue 27 item 6: `Content-Type: text` without subtype, `boundary*=` in RFC 2231 form, and MIME delimiter lines
/// that must never be shown as text.
@Suite struct MultipartEdgeCaseTests {
    private func texts(_ body: String) -> [String] {
        MessageDisplay(body: MessageDisplayTests.crlf(body)).parts.compactMap {
            if case .text(let text) = $0 { text } else { nil }
        }
    }

    @Test func textWithoutSubtypeIsPlainTextKeepingItsCharset() throws {
        let body = "Content-Type: text; charset=koi8-r\nSubject: x\n\n"
        var bytes = MessageDisplayTests.crlf(body)
        bytes += [0xF0, 0xD2, 0xC9, 0x0D, 0x0A]  // "При" in koi8-r
        let message = try MIMEParser().parse(bytes)
        #expect(message.root.contentType.mimeType == "text/plain")
        #expect(message.root.contentType.parameters["charset"] == "koi8-r")
        #expect(MessageDisplay(body: bytes).parts == [.text("При\n")])
        let other = try MIMEParser().parse(Array("Content-Type: image\r\n\r\nx\r\n".utf8))
        #expect(other.root.contentType.mimeType == "application/octet-stream")
    }

    @Test(arguments: [
        "boundary*=us-ascii''EeQfGwPcQSOJBaQU",
        "boundary*=''EeQfGwPcQSOJBaQU",
        "boundary*0=EeQfGw; boundary*1=PcQSOJBaQU",
        "boundary*0*=us-ascii''EeQfGw; boundary*1=\"PcQSOJBaQU\"",
    ])
    func rfc2231BoundaryIsSplitOn(_ parameter: String) throws {
        let body = """
            Content-Type: multipart/mixed;
            \t\(parameter)
            Subject: s

            --EeQfGwPcQSOJBaQU
            Content-Type: text/plain

            eins
            --EeQfGwPcQSOJBaQU
            Content-Type: text/plain

            zwei
            --EeQfGwPcQSOJBaQU--
            """
        let message = try MIMEParser().parse(MessageDisplayTests.crlf(body))
        #expect(message.root.children.count == 2)
        #expect(texts(body) == ["eins", "zwei"])
    }

    @Test func anInvalidRFC2231BoundaryIsNotInserted() throws {
        // A quote would end the inserted parameter early; such a boundary is not valid (RFC 2046 §5.1.1).
        let body = "Content-Type: multipart/mixed; boundary*=''a%22b\r\n\r\n--a\"b\r\n\r\nx\r\n--a\"b--\r\n"
        let message = try MIMEParser().parse(Array(body.utf8))
        #expect(message.root.children.isEmpty)
        #expect(texts(body).allSatisfy { !$0.contains("--a") })
    }

    /// Delimiter lines reach a leaf when the parser misreads the structure: an empty body part before the close
    /// delimiter (CPython's msg_24), consecutive delimiters (msg_37), delimiters with transport padding.
    @Test(arguments: [
        "--B\n\n\n--B--\n",
        "--B\nContent-Type: text/plain\n\nx\n--B\n--B\nContent-Type: text/plain\n\ny\n--B--\n",
        "--B\nContent-Type: text/plain\n\nx\n--B \t\nContent-Type: text/plain\n\ny\n--B--  \n",
        "--B\n--B\n--B\nContent-Type: text/plain\n\nz\n--B--\n",
    ])
    func delimiterLinesAreNeverShownAsText(_ structure: String) {
        let body = "Content-Type: multipart/mixed; boundary=\"B\"\nSubject: s\n\n" + structure
        for text in texts(body) {
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(!lines.contains("--B") && !lines.contains("--B--"), "a delimiter line is shown")
        }
    }

    @Test func delimiterLineTest() {
        let delimiters = [Array("--B".utf8)]
        #expect(DisplayWalk.containsDelimiterLine(Array("a\r\n--B--  \r\n".utf8)[...], delimiters))
        #expect(DisplayWalk.containsDelimiterLine(Array("--B\t\r\n".utf8)[...], delimiters))
        #expect(!DisplayWalk.containsDelimiterLine(Array("--Bx\r\n---B\r\n a --B\r\n".utf8)[...], delimiters))
    }
}
