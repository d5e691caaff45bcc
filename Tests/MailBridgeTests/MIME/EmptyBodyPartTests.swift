import Foundation
import Testing
@testable import MailBridge

/// Issue 27, CPython's msg_37: a delimiter line directly followed by another one (an empty part: RFC 2046 §5.1.1
/// gives the line break between them to both delimiters, so no part is there at all). libetpan misses the second
/// delimiter and runs the following parts together; ``DelimiterLineSplitter`` splits such a multipart itself.
/// Each reading is also checked against Python's `email` package.
@Suite struct EmptyBodyPartTests {
    /// (media type, decoded body) of each child of the top-level multipart.
    private func children(_ message: String, lineEnd: String = "\r\n") throws -> [Child] {
        let bytes = Array(message.replacingOccurrences(of: "\n", with: lineEnd).utf8)
        return try MIMEParser().parse(bytes).root.children.map {
            Child(type: $0.contentType.mimeType, body: String(decoding: $0.decodedBody ?? [], as: UTF8.self))
        }
    }

    private struct Child: Equatable, CustomStringConvertible {
        let type: String
        let body: String
        var description: String { "\(type) \(body.debugDescription)" }
    }

    /// Python's reading of the same message (policy=default), children of the top-level multipart.
    private func python(_ message: String, lineEnd: String = "\r\n") throws -> [Child] {
        let bytes = Array(message.replacingOccurrences(of: "\n", with: lineEnd).utf8)
        let script = """
            import sys, email, email.policy
            m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
            for p in m.iter_parts():
                sys.stdout.write(p.get_content_type() + "\\t" + p.get_payload().replace("\\r\\n", "\\n").replace("\\n", "|") + "\\n")
            """
        let out = String(decoding: try PythonMail.run(script, input: bytes), as: UTF8.self)
        return out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            return Child(type: String(fields[0]), body: String(fields[1]))
        }
    }

    private func normalised(_ children: [Child]) -> [Child] {
        children.map {
            Child(type: $0.type, body: $0.body.replacingOccurrences(of: "\r\n", with: "\n")
                .replacingOccurrences(of: "\n", with: "|"))
        }
    }

    static let msg37 = """
        Content-Type: multipart/mixed; boundary=ABCDE

        --ABCDE
        Content-Type: text/x-one

        Blah

        --ABCDE
        --ABCDE
        Content-Type: text/x-two

        Blah

        --ABCDE
        --ABCDE
        --ABCDE
        --ABCDE
        Content-Type: text/x-two

        Blah

        --ABCDE--

        """

    @Test(arguments: ["\r\n", "\n"])
    func cpythonMsg37HasEveryPart(_ lineEnd: String) throws {
        let parts = try children(Self.msg37, lineEnd: lineEnd)
        #expect(parts == [
            Child(type: "text/x-one", body: "Blah\(lineEnd)"), Child(type: "text/x-two", body: "Blah\(lineEnd)"),
            Child(type: "text/x-two", body: "Blah\(lineEnd)"),
        ])
        #expect(normalised(parts) == (try python(Self.msg37, lineEnd: lineEnd)))
    }

    @Test func emptyPartBetweenTwoDelimiters() throws {
        let message = """
            Content-Type: multipart/mixed; boundary="b 1"

            preamble
            --b 1
            Content-Type: text/plain

            eins
            --b 1
            --b 1
            Content-Type: text/x-zwei

            zwei
            --b 1--
            epilogue
            """
        let parts = try children(message)
        #expect(parts == [Child(type: "text/plain", body: "eins"), Child(type: "text/x-zwei", body: "zwei")])
        #expect(normalised(parts) == (try python(message)))
    }

    @Test func emptyFirstPart() throws {
        let message = """
            Content-Type: multipart/mixed; boundary=b

            --b
            --b \t
            Content-Type: text/x-zwei

            zwei
            --b--
            """
        let parts = try children(message)
        #expect(parts == [Child(type: "text/x-zwei", body: "zwei")])
        #expect(normalised(parts) == (try python(message)))
    }

    @Test func emptyLastPart() throws {
        let message = """
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/x-eins

            eins
            --b
            --b--
            """
        let parts = try children(message)
        #expect(parts == [Child(type: "text/x-eins", body: "eins")])
        // Python reads an empty text/plain part here and reports a CloseBoundaryNotFoundDefect (it misses the
        // close delimiter right after a delimiter line); nothing of it can be shown, so visible parts are compared.
        let visible = try python(message).filter { !($0.type == "text/plain" && $0.body.isEmpty) }
        #expect(normalised(parts) == visible)
    }

    @Test func emptyHeaderBlockAndEmptyBodyIsAnEmptyPlainPart() throws {
        // `--b CRLF CRLF --b`: a part whose header block and body are both empty (RFC 2045 §5.2 text/plain),
        // in a multipart that DelimiterLineSplitter splits (two delimiter lines in a row follow).
        let message = """
            Content-Type: multipart/mixed; boundary=b

            --b

            --b
            --b
            Content-Type: text/x-zwei

            zwei
            --b--
            """
        let parts = try children(message)
        #expect(parts == [Child(type: "text/plain", body: ""), Child(type: "text/x-zwei", body: "zwei")])
        #expect(normalised(parts) == (try python(message)))
    }

    @Test func linesThatOnlyStartWithTheBoundaryAreText() throws {
        let message = """
            Content-Type: multipart/mixed; boundary=b

            --b
            --b
            Content-Type: text/plain

            --bx is not a delimiter
            --b-- neither
            --b--
            """
        let parts = try children(message)
        #expect(parts == [Child(type: "text/plain", body: "--bx is not a delimiter\r\n--b-- neither")])
        #expect(normalised(parts) == (try python(message)))
    }

    @Test func splitPartsKeepExactOctetsAndNestedStructure() throws {
        let message = """
            Content-Type: multipart/mixed; boundary=outer

            --outer
            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/plain; charset=koi8-r
            Content-Transfer-Encoding: base64

            8NLJ
            --inner
            Content-Type: text/html

            <p>x</p>
            --inner--
            --outer
            Content-Type: application/pdf; name=a.pdf
            Content-Transfer-Encoding: base64

            JVBERg==
            --outer--
            """
        let bytes = Array(message.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let root = try MIMEParser().parse(bytes).root
        #expect(root.children.map(\.contentType.mimeType) == ["multipart/alternative", "application/pdf"])
        try #require(root.children.count == 2)
        let alternative = root.children[0]
        #expect(alternative.depth == 1)
        #expect(alternative.children.map(\.depth) == [2, 2])
        #expect(alternative.children.map(\.contentType.mimeType) == ["text/plain", "text/html"])
        #expect(try alternative.children.first?.text() == "При")
        #expect(root.children[1].decodedBody == Array("%PDF".utf8))
        #expect(root.children[1].fileName == "a.pdf")
        let pdfPart = "Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg=="
        #expect(Array(root.children[1].rawBytes) == Array(pdfPart.utf8))
        #expect(String(decoding: alternative.rawBytes, as: UTF8.self).hasSuffix("--inner--"))
    }

    @Test func splitPartsCountAgainstThePartLimit() throws {
        var limits = MIMELimits.default
        limits.maximumParts = 10
        let head = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n"
        let message = head + String(repeating: "x\r\n--b\r\n", count: 40) + "--b--\r\n"
        #expect(throws: MIMEError.tooManyParts) { try MIMEParser(limits: limits).parse(Array(message.utf8)) }
        let fits = head + String(repeating: "x\r\n--b\r\n", count: 8) + "x\r\n--b--\r\n"
        #expect(try MIMEParser(limits: limits).parse(Array(fits.utf8)).root.children.count == 9)
    }

    @Test func withoutConsecutiveDelimitersLibetpanSplits() {
        let body = Array("--b\r\nx\r\n--b\r\ny\r\n--b--\r\n".utf8)
        #expect(DelimiterLineSplitter.partsIfConsecutiveDelimiters(
            in: body, body: 0..<body.count, boundary: "b", maximumParts: 128) == nil)
        let empty = Array("--b\r\n--b\r\ny\r\n--b--\r\n".utf8)
        #expect(DelimiterLineSplitter.partsIfConsecutiveDelimiters(
            in: empty, body: 0..<empty.count, boundary: "b", maximumParts: 128) == [10..<11])
    }
}
