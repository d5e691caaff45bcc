import Foundation
import MailBridge
import MailValues
import Testing

struct ProtectedHeadersTests {
    @Test func readsSubjectOnlyFromMarkedTopLevelEntity() throws {
        let inner = try ProtectedHeadersPart(
            subject: "Vertraulich: Grüße", from: try EmailAddress("k@example.net"),
            to: [try EmailAddress("b@example.org")],
            date: Date(), messageID: try OutgoingMessageID(domain: "example.org"), body: "Text"
        ).render()
        let headers = try #require(ProtectedHeaders(decryptedInner: try MIMEParser().parse(inner)))
        #expect(headers.subject == "Vertraulich: Grüße")
        #expect(!"\(headers)".contains("Vertraulich"))
    }

    @Test func unmarkedOrNestedHeadersAreIgnored() throws {
        let unmarked = try MIMEParser().parse(.crlf("Subject: planted\nContent-Type: text/plain\n\nx\n"))
        #expect(ProtectedHeaders(decryptedInner: unmarked) == nil)
        let nested = try MIMEParser().parse(
            .crlf(
                """
                Content-Type: multipart/mixed; boundary=b

                --b
                Content-Type: text/plain; protected-headers="v1"
                Subject: planted

                x
                --b--

                """))
        #expect(ProtectedHeaders(decryptedInner: nested) == nil)
    }
}

struct AutocryptParsingTests {
    @Test func parsesWhatWeRender() throws {
        let key = [UInt8]((0..<500).map { UInt8($0 % 251) })
        let rendered = AutocryptHeader(address: try EmailAddress("k@example.net"), keyData: key).rendered
        let message = try MIMEParser().parse(Array(rendered.utf8) + .crlf("From: k@example.net\n\nx\n"))
        let field = try #require(message.headers.first("Autocrypt"))
        let parsed = try #require(AutocryptHeader(parsing: field.value))
        #expect(parsed.keyData == key)
        #expect(parsed.preferEncryptMutual)
        #expect(parsed.address == (try EmailAddress("k@example.net")))
    }

    @Test(arguments: [
        "addr=k@example.net; keydata=AAEC; unknown-critical=1",
        "keydata=AAEC",
        "addr=k@example.net",
        "addr=not an address; keydata=AAEC",
        "addr=k@example.net; keydata=!!!",
    ])
    func rejectsInvalid(_ value: String) {
        #expect(AutocryptHeader(parsing: value) == nil)
    }

    @Test func ignoresNonCriticalAttributes() {
        #expect(AutocryptHeader(parsing: "addr=k@example.net; _x=1; keydata=AAEC")?.keyData == [0, 1, 2])
    }
}
