import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// Issue 16: every verdict other than valid is shown as such, in the inbox page and the API, with the signer's
/// fingerprint and user ID in the page chrome (the message header), where the message text cannot imitate them.
/// The user ID is chosen by whoever made the key: it arrives escaped and without control or bidi characters.
@Suite struct SignatureDisplayWebTests {
    static let threadKey = "C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE01"
    static let otherKey = "0123456789ABCDEF0123456789ABCDEF01234567"
    static let hostileUserID = "Mallory <script>alert(1)</script> \u{202E}gpj.exe <m@example.net>"
    static let cleanedUserID = "Mallory &lt;script&gt;alert(1)&lt;/script&gt; \u{FFFD}gpj.exe &lt;m@example.net&gt;"

    /// A thread of the harness mailbox's field with three inbound messages, oldest first: an unconfirmed key
    /// change signed by another key with a hostile user ID, a valid one by the thread's key, an unsigned one. An
    /// earlier thread from the same address with another key makes the page show the key-change box.
    static func seed(_ harness: WebHarness, canary: String) async throws -> ThreadID {
        let field = harness.pipe.mailbox.field
        let address = try ClientAddress("wechsel@example.net")
        let earlier = ClientIdentity(field: field, key: try ClientKeyFingerprint(String(repeating: "E", count: 40)),
                                     address: address)
        let current = ClientIdentity(field: field, key: try ClientKeyFingerprint(threadKey), address: address)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        @Sendable
        func message(_ number: Int, _ verdict: SignatureVerdictCode, _ signer: MessageSigner?) -> NewMessage {
            NewMessage(direction: .inbound, messageID: "<sig-\(number)-\(UUID().uuidString)@example.net>",
                       subject: "Betreff \(number) \(canary)", body: Array("Text \(number) \(canary)".utf8),
                       verdict: verdict, receivedAt: start.addingTimeInterval(Double(number)), signer: signer)
        }
        return try await harness.store.write { tx in
            _ = try tx.importMessage(message(0, .valid, nil), into: .client(earlier))
            var thread: ThreadID?
            for (number, verdict, signer) in [
                (1, SignatureVerdictCode.unconfirmedKeyChange,
                 MessageSigner(fingerprint: try KeyFingerprint(otherKey), userID: hostileUserID)),
                (2, .valid,
                 MessageSigner(fingerprint: try KeyFingerprint(threadKey), userID: "Kim <wechsel@example.net>")),
                (3, .unsigned, nil),
            ] {
                let outcome = try tx.importMessage(message(number, verdict, signer),
                                                   into: thread.map { .thread($0) } ?? .client(current))
                guard case .stored(let stored, _, _) = outcome else {
                    throw WebHarness.NotImported(outcome: "\(outcome)")
                }
                thread = stored
            }
            return thread!
        }
    }

    /// The `<li class="message …">` blocks of a thread page, split into header (chrome) and content.
    static func messageBlocks(_ html: String) -> [(header: String, content: String)] {
        html.components(separatedBy: "<li class=\"message ").dropFirst().map { block in
            let parts = block.components(separatedBy: "<div class=\"mail-content\">")
            return (parts[0], parts.dropFirst().joined())
        }
    }

    @Test func pageShowsEveryVerdictAndTheCleanedSignerInTheMessageHeader() async throws {
        let harness = try await WebHarness()
        let canary = InboxPageTests.canary()
        let thread = try await Self.seed(harness, canary: canary)
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(thread.unredactedDescription)", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.status == .ok)
            let html = page.text
            #expect(!html.contains("<script") && !html.contains("\u{202E}"))
            #expect(html.contains("<section aria-labelledby=\"key-change-heading\""), "the box the advice points at")
            let blocks = Self.messageBlocks(html)
            try #require(blocks.count == 3)

            // Unconfirmed key change: amber, what to do, and the other key's signer in the header.
            let change = blocks[0]
            #expect(change.header.contains("<span class=\"verdict verdict-unverified\">NOCH NICHT bestätigt"))
            #expect(change.header.contains("„Schlüsselwechsel“ oben auf dieser Seite"))
            #expect(change.header.contains("<dt>Signiert von</dt><dd class=\"signer\">"
                + "<bdi class=\"signer-uid\">\(Self.cleanedUserID)</bdi> "
                + "<code class=\"fingerprint\">0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567</code>"))
            #expect(change.header.contains("NICHT der Schlüssel dieser Anfrage"))
            #expect(!change.content.contains("fingerprint") && !change.content.contains("Mallory"))

            // Valid: green, the thread's key, no advice.
            let valid = blocks[1]
            #expect(valid.header.contains("<span class=\"verdict verdict-valid\">gültig"))
            #expect(!valid.header.contains("verdict-advice"))
            #expect(valid.header.contains("&lt;wechsel@example.net&gt;</bdi> <code class=\"fingerprint\">"
                + "C0FF EE00 C0FF EE00 C0FF EE00 C0FF EE00 C0FF EE01</code> "
                + "<span class=\"signer-key\">(Schlüssel dieser Anfrage)</span>"))

            // Unsigned: says so, and there is no signer.
            let unsigned = blocks[2]
            #expect(unsigned.header.contains("<span class=\"verdict verdict-unverified\">nicht signiert</span>"))
            #expect(!unsigned.header.contains("Signiert von") && !unsigned.header.contains("class=\"signer\""))

            // Exactly one verdict per message, all in headers; only one is valid.
            #expect(html.components(separatedBy: "<span class=\"verdict ").count - 1 == 3)
            #expect(html.components(separatedBy: "verdict-valid").count - 1 == 1)

            // The stylesheet marks non-valid verdicts with more than colour.
            let css = try await client.execute(uri: "/static/app.css", method: .get, headers: [:]).text
            #expect(css.contains(".verdict-unverified::before") && css.contains(".verdict-bad::before"))
        }
        await harness.pipe.close()
    }

    @Test func apiReturnsTheVerdictWordAndTheCleanedSignerOrNull() async throws {
        let harness = try await WebHarness()
        let canary = InboxPageTests.canary()
        let thread = try await Self.seed(harness, canary: canary)
        try await harness.test { client in
            let response = try await client.execute(uri: "/api/v1/threads/\(thread.unredactedDescription)",
                                                    method: .get, headers: harness.api("berater"))
            #expect(response.status == .ok)
            let messages = try #require(try APITests.json(response)["messages"] as? [[String: Any]])
            try #require(messages.count == 3)
            #expect(messages.map { $0["signature"] as? String } == ["unconfirmed_key_change", "valid", "unsigned"])
            let signer = try #require(messages[0]["signer"] as? [String: Any])
            #expect(signer["fingerprint"] as? String == Self.otherKey)
            #expect(signer["userId"] as? String
                    == "Mallory <script>alert(1)</script> \u{FFFD}gpj.exe <m@example.net>")
            #expect((messages[1]["signer"] as? [String: Any])?["fingerprint"] as? String == Self.threadKey)
            // No signer: an explicit null, not a missing field.
            #expect(messages[2].keys.contains("signer") && messages[2]["signer"] is NSNull)
            #expect(!response.text.contains("\u{202E}"))
        }
        await harness.pipe.close()
    }
}
