import MailBridge
import Testing

/// RFC 2047 decoding through the public header API (Subject field of a parsed message).
struct EncodedWordTests {
    private func subject(_ raw: String) throws -> String {
        let message = try MIMEParser().parse(.crlf("From: a@example.org\nSubject: \(raw)\n\nbody\n"))
        return try #require(message.headers.first("Subject")).decodedValue
    }

    @Test(arguments: [
        ("=?utf-8?B?R3LDvMOfZQ==?=", "Grüße"),  // B
        ("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "Grüße aus Köln"),  // Q with underscore
        ("=?iso-8859-1?q?M=FCller?=", "Müller"),
        ("=?ISO-8859-15?Q?=A4uro?=", "€uro"),
        ("=?windows-1252?Q?=80_=93quoted=94?=", "€ “quoted”"),
        ("=?utf-8?q?Gr=C3?= =?utf-8?q?=BC=C3=9Fe?=", "Grüße"),  // ü split across two words (RFC 2047 §5 violation, common)
        ("=?utf-8?q?a?=\n =?utf-8?q?b?=", "ab"),  // folded whitespace between words is dropped (§6.2)
        ("Re: =?utf-8?q?K=C3=B6ln?= heute", "Re: Köln heute"),  // whitespace next to text is kept
        ("=?utf-8*de?q?Hallo?=", "Hallo"),  // RFC 2231 §5 language suffix
        ("=?utf-8?b?R3LDvMOfZQ?=", "Grüße"),  // missing padding tolerated
    ])
    func decodes(_ raw: String, _ expected: String) throws {
        #expect(try subject(raw) == expected)
    }

    @Test func unknownCharsetStaysVerbatim() throws {
        #expect(try subject("=?x-unknown?q?abc?= and =?utf-8?q?ok?=") == "=?x-unknown?q?abc?= and ok")
    }

    @Test func brokenEncodingStaysVerbatim() throws {
        #expect(try subject("=?utf-8?q?bad=ZZ?=") == "=?utf-8?q?bad=ZZ?=")
    }

    @Test func plainTextUnchanged() throws {
        #expect(try subject("just = text ?= here") == "just = text ?= here")
    }

    @Test func manyAdjacentWordsDecodeInOnePass() throws {
        let raw = Array(repeating: "=?utf-8?q?ab?=", count: 3500).joined(separator: "\n ")
        #expect(try subject(raw) == String(repeating: "ab", count: 3500))
    }
}
