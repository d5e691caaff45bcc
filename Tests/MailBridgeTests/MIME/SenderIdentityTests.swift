import MailBridge
import MailValues
import Testing

struct SenderIdentityTests {
    private func identity(_ headerLines: String) throws(IdentityError) -> SenderIdentity {
        let message = try! MIMEParser().parse(.crlf(headerLines + "\nSubject: s\n\nbody\n"))
        return try SenderIdentity(headers: message.headers)
    }

    @Test(arguments: [
        ("From: klient@example.org", "klient@example.org", nil as String?),
        ("From: Jürgen Müller <Juergen@Example.ORG>", "Juergen@example.org", "Jürgen Müller"),
        ("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>", "j@example.org", "Jürgen"),
        ("From: \"Müller, Jürgen\" <j@example.org> (comment)", "j@example.org", "Müller, Jürgen"),
        ("From: Name\n <folded@example.org>", "folded@example.org", "Name"),
    ])
    func accepts(_ field: String, _ address: String, _ name: String?) throws {
        let sender = try identity(field)
        #expect(sender.address.unredactedDescription == address)
        #expect(sender.displayName == name)
        #expect(!"\(sender)".contains("@"))
    }

    @Test(arguments: [
        ("To: x@example.org", IdentityError.Code.missingFrom),
        ("From: a@example.org\nFrom: b@example.org", .multipleFromFields),
        ("From: a@example.org, b@example.org", .multipleMailboxes),
        ("From: Team: a@example.org;", .groupSyntax),
        ("From: Team: a@example.org, b@example.org;", .groupSyntax),
        ("From: Undisclosed:;", .groupSyntax),
        ("From: =?utf-8?q?evil?=@example.org", .encodedWordInAddress),
        ("From: Name <=?utf-8?q?evil?=@example.org>", .encodedWordInAddress),
        ("From: =?utf-8?q?Name=0D=0ABcc=3A_x=40example=2Eorg?= <a@example.org>", .controlCharacter),
        ("From: =?utf-8?q?Name=00?= <a@example.org>", .controlCharacter),
        ("From: a@example.org\rBcc: x@example.org", .controlCharacter),
        ("From: <not an address>", .invalidAddress),
        ("From: <a@example.org", .invalidAddress),  // libetpan reads "<a" as local part; EmailAddress refuses
        ("From: a@example.org (c) , b@example.org", .malformedAddress),  // libetpan stops at the comment
        ("From: a@example.org (unclosed", .malformedAddress),
        ("From: a@-bad.example", .invalidAddress),
    ])
    func rejects(_ field: String, _ code: IdentityError.Code) {
        #expect(throws: IdentityError(code)) { try identity(field) }
    }

    @Test(arguments: ["From: \"unterminated <a@example.org>", "From:", "From: a@b@example.org", "From: @example.org"])
    func rejectsOtherMalformedFields(_ field: String) {
        #expect(throws: IdentityError.self) { try identity(field) }
    }

    @Test func rejectsNULInRawValue() throws {
        let raw: [UInt8] = .crlf("From: a@exa") + [0] + .crlf("mple.org\n\nbody\n")
        let message = try MIMEParser().parse(raw)
        #expect(throws: IdentityError(.controlCharacter)) { try SenderIdentity(headers: message.headers) }
    }
}
