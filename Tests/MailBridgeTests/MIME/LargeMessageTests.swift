import Foundation
import MailBridge
import Testing

/// A large but legal message: libetpan's base64 decoding and our copying stay correct at size.
struct LargeMessageTests {
    @Test func tenMebibyteAttachmentDecodesExactly() throws {
        let payload = [UInt8]((0..<(10 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 11)) })
        let base64 = Data(payload).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        let raw: [UInt8] =
            .crlf(
                """
                From: k@example.org
                Content-Type: multipart/mixed; boundary=XX

                --XX
                Content-Type: text/plain; charset=utf-8

                Anhang
                --XX
                Content-Type: application/octet-stream
                Content-Transfer-Encoding: base64
                Content-Disposition: attachment; filename=big.bin

                """) + Array(base64.utf8) + .crlf("\n--XX--\n")
        let clock = ContinuousClock()
        var message: MIMEMessage?
        let elapsed = try clock.measure { message = try MIMEParser().parse(raw) }
        let attachment = try #require(message?.attachments.first)
        let same = attachment.decodedBody == payload
        #expect(same)
        #expect(attachment.fileName == "big.bin")
        print("LargeMessageTests: parsed \(raw.count) bytes in \(elapsed)")
    }
}
