import Foundation
import MailBridge
import MailValues
import Testing

/// Encoding edge cases through the public builders, checked by our parser and by Python.
struct HeaderAndBodyEncodingTests {
    static func inner(subject: String, body: String) throws -> [UInt8] {
        try ProtectedHeadersPart(
            subject: subject, from: try EmailAddress("a@example.org"), to: [try EmailAddress("b@example.org")],
            date: Date(), messageID: try OutgoingMessageID(domain: "example.org"), body: body
        ).render()
    }

    @Test(arguments: [
        String(repeating: "Sehr langer Betreff mit Umlauten äöüß und Emoji 😀 ", count: 12),
        String(repeating: "x", count: 2000),  // one 2000-character word: encoded, never a >998 line
        "Looks like =?utf-8?q?an_encoded_word?= but is literal",
        "Injected\r\nBcc: victim@example.org",
        "日本語の件名",
    ])
    func subjectsRoundTrip(_ subject: String) throws {
        let bytes = try Self.inner(subject: subject, body: "x")
        let wireSafe = WireCheck.isWireSafe(bytes, limit: 78)
        let ascii = bytes.allSatisfy { $0 < 0x80 }
        #expect(wireSafe && ascii)
        let parsed = try MIMEParser().parse(bytes)
        let expected = subject.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        #expect(parsed.headers.first("Subject")?.decodedValue == expected)
        #expect(parsed.headers.first("Bcc") == nil)
        let python = try PythonMail.inspect(bytes, "sys.stdout.write(str(msg['Subject']))")
        #expect(python == expected)
    }

    @Test(arguments: [
        ".\n..\n.leading dot",
        "trailing space \ntrailing tab\t\n",
        String(repeating: "ä", count: 500),
        "= equals =3D and soft=\nbreak",
        String(repeating: "abcdefghij", count: 200),
        "mixed\r\nline\rends\n",
    ])
    func quotedPrintableBodiesRoundTrip(_ body: String) throws {
        let bytes = try Self.inner(subject: "s", body: body)
        let wireSafe = WireCheck.isWireSafe(bytes, limit: 78)
        #expect(wireSafe)
        let bodyLines = WireCheck.lines(bytes).drop { !$0.isEmpty }.dropFirst()
        #expect(bodyLines.allSatisfy { $0.utf8.count <= 76 && !$0.hasPrefix(".") })
        let expected = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        let ours = try MIMEParser().parse(bytes).root.text().replacingOccurrences(of: "\r\n", with: "\n")
        #expect(ours == (expected.hasSuffix("\n") ? expected : expected + "\n"))
        let python = try PythonMail.inspect(bytes, "sys.stdout.write(msg.get_content().replace('\\r\\n', '\\n'))")
        #expect(python == ours)
    }
}
