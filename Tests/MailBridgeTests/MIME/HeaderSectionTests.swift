import Foundation
@testable import MailBridge
import MailValues
import Testing

/// The header room's lenient splitter (issue 19) and the scanners now on it: what they skip, what they keep, and
/// where the body starts.
@Suite struct HeaderSectionTests {
    @Test func skipsWhatIsNotAFieldAndFindsTheBody() {
        let raw = Array("no colon here\r\nSubject: a\r\n  b\r\nBad Name: x\r\nTo: c@example.net\r\n\r\nbody\r\n".utf8)
        let (headers, body) = HeaderBlockSplitter.section(of: raw[...])
        #expect(headers.map(\.name) == ["Subject", "To"])
        #expect(headers.first("subject")?.value == "a  b")
        #expect(String(decoding: body, as: UTF8.self) == "body\r\n")
    }

    @Test func keepsAtMostTheGivenNumberOfFields() {
        let raw = Array((0..<20).map { "X-F\($0): v\r\n" }.joined().utf8)
        #expect(HeaderBlockSplitter.section(of: raw[...], maximumFields: 5).headers.count == 5)
    }

    @Test func aReportIsRecognisedWhateverTheCaseAndQuoting() {
        let dsn = """
            Content-Type: Multipart/Report; Report-Type="Delivery-Status";\r
            \tboundary="b 1"\r
            \r
            --b 1\r
            Content-Type: text/plain\r
            \r
            failed\r
            --b 1\r
            Content-Type: text/rfc822-headers\r
            \r
            Message-ID: <orig@example.org>\r
            --b 1--\r

            """
        #expect(BounceRecognizer.classify(rawMessage: Array(dsn.utf8), reversePath: .null)
            == .deliveryStatus(originalMessageID: "<orig@example.org>"))
    }

    @Test func aFoldedOrLateReturnPathIsTheNullPath() {
        #expect(ReturnPathHeader.reversePath(in: Data("Return-Path:\r\n <a@example.net>\r\n\r\n".utf8)) == .null)
        #expect(ReturnPathHeader.reversePath(in: Data("X: y\r\nReturn-Path: <a@example.net>\r\n\r\n".utf8))
            .address?.unredactedDescription == "a@example.net")
    }
}
