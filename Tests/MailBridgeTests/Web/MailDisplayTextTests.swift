import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import Testing
import ThreadStore

/// Issue 25, item 1: subjects, file names and media types from a client's (real, gpg-encrypted, imported) mail
/// reach the JSON API, the inbox page and download headers only cleaned of controls and bidirectional controls;
/// the store keeps the raw values.
@Suite struct MailDisplayTextTests {
    /// Controls (C0 with TAB, CR, LF; DEL; C1) and the bidirectional controls.
    static func forbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        default: false
        }
    }

    static func clean(_ text: String) -> Bool { !text.unicodeScalars.contains(where: forbidden) }

    /// What the attacker wrote: a header injection, a right-to-left override disguising `exe`, isolates, marks,
    /// DEL, a C1 control and a TAB.
    static let evil = "Rechnung\r\nSet-Cookie: x=1 \u{202E}fdp.exe \u{2066}i\u{2069}\u{200E}\u{200F}\u{061C}"
        + "\u{7F}\u{85}\tend"

    static func encodedWord(_ text: String) -> String { "=?utf-8?b?\(Data(text.utf8).base64EncodedString())?=" }

    static func percent(_ text: String) -> String {
        text.utf8.map { byte in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == 0x2E ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }.joined()
    }

    static var inner: String {
        """
        Content-Type: multipart/mixed; boundary="b"; protected-headers="v1"
        Subject: \(encodedWord(evil))

        --b
        Content-Type: text/plain; charset=utf-8

        Hallo
        --b
        Content-Type: application/octet-stream
        Content-Disposition: attachment; filename*=utf-8''\(percent(evil))
        Content-Transfer-Encoding: base64

        aGFsbG8=
        --b
        Content-Type: message/rfc822

        From: someone@example.org
        Subject: \(encodedWord(evil))
        Content-Type: multipart/mixed; boundary="c"

        --c
        Content-Type: text/plain

        inner text
        --c
        Content-Type: application/pdf
        Content-Disposition: attachment; filename*=utf-8''\(percent("fwd" + evil))

        eA==
        --c--
        --b--
        """
    }

    @Test func apiPageAndDownloadsShowOnlyCleanedMailStrings() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importClientMail(inner: Self.inner)
        let id = thread.unredactedDescription
        // The raw values stay sealed in the store: the dangerous input did arrive.
        let view = try await harness.store.read { tx in try tx.openInboxThread(thread) }
        let stored = try #require(view.messages.first)
        #expect(stored.subject == Self.evil)
        #expect(stored.attachments.map(\.name).contains(Self.evil))
        let messageID = stored.id.unredactedDescription

        try await harness.test { client in
            let got = try await client.execute(uri: "/api/v1/threads/\(id)", method: .get,
                                               headers: harness.api("berater"))
            #expect(got.status == .ok)
            let body = try APITests.json(got)
            let message = try #require((body["messages"] as? [[String: Any]])?.first)
            let subject = try #require(message["subject"] as? String)
            #expect(Self.clean(subject), "API subject: \(subject.debugDescription)")
            #expect(subject.hasPrefix("Rechnung\u{FFFD}\u{FFFD}Set-Cookie"))
            let attachments = try #require(message["attachments"] as? [[String: Any]])
            #expect(attachments.count == 2)
            for attachment in attachments {
                let name = try #require(attachment["name"] as? String)
                let type = try #require(attachment["mediaType"] as? String)
                #expect(Self.clean(name) && Self.clean(type), "API attachment: \(name.debugDescription)")
            }
            for part in message["withheldParts"] as? [[String: Any]] ?? [] {
                #expect(Self.clean(part["mediaType"] as? String ?? ""))
            }
            // The forwarded frame's Subject and Attachment lines stay single lines inside `text`.
            let text = try #require(message["text"] as? String)
            #expect(!text.contains("\nSet-Cookie") && !text.unicodeScalars.contains(where: {
                Self.forbidden($0) && $0 != "\n"
            }), "API text: \(text.debugDescription)")

            let page = try await client.execute(uri: "/threads/\(id)", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.status == .ok)
            #expect(!page.text.unicodeScalars.contains(where: { Self.forbidden($0) && $0 != "\n" }),
                    "page contains a control or bidirectional control")
            #expect(!page.text.contains("\nSet-Cookie"))
            #expect(page.text.contains("Rechnung\u{FFFD}\u{FFFD}Set-Cookie"))

            for uri in ["/api/v1/threads/\(id)/messages/\(messageID)/attachments/0",
                        "/threads/\(id)/messages/\(messageID)/attachments/0"] {
                let headers = uri.hasPrefix("/api") ? harness.api("berater") : harness.browser("berater")
                let download = try await client.execute(uri: uri, method: .get, headers: headers)
                #expect(download.status == .ok, "\(uri)")
                let disposition = try #require(download.headers[.contentDisposition])
                #expect(Self.clean(disposition))
                for encoded in ["%0D", "%0A", "%E2%80%AE", "%E2%81%A6", "%E2%80%8E", "%D8%9C", "%7F", "%C2%85", "%09"]
                {
                    #expect(!disposition.uppercased().contains(encoded), "\(uri): \(disposition)")
                }
                #expect(download.headers[.setCookie] == nil)
            }
        }
    }
}
