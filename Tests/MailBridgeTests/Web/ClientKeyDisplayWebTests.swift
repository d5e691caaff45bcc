import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// The thread's key in the details (issue 22): in groups of four for reading out on the phone, with the user ID of
/// its signer beside it; another key's hostile user ID on the same page is not taken for it.
@Suite struct ClientKeyDisplayWebTests {
    @Test func detailsShowTheKeyInGroupsOfFourWithItsSignersUserID() async throws {
        let harness = try await WebHarness()
        let thread = try await SignatureDisplayWebTests.seed(harness, canary: InboxPageTests.canary())
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(thread.unredactedDescription)", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.status == .ok)
            let details = try #require(page.text.components(separatedBy: "<section aria-labelledby=\"details-heading\"")
                .dropFirst().first?.components(separatedBy: "</section>").first)
            #expect(details.contains("<dt>Schlüssel der Klient*in</dt><dd><bdi class=\"signer-uid\">"
                + "Kim &lt;wechsel@example.net&gt;</bdi> "
                + "<code class=\"fingerprint\">C0FF EE00 C0FF EE00 C0FF EE00 C0FF EE00 C0FF EE01</code></dd>"))
            #expect(!details.contains("Mallory") && !details.contains(SignatureDisplayWebTests.threadKey))
        }
        await harness.pipe.close()
    }

    @Test func withoutASignatureByTheKeyOnlyTheGroupedFingerprintIsShown() async throws {
        let harness = try await WebHarness()
        let field = harness.pipe.mailbox.field
        let thread = try await harness.store.write { tx in
            let key = try ClientKeyFingerprint(String(repeating: "AB", count: 20))
            let identity = ClientIdentity(field: field, key: key, address: try ClientAddress("ohne@example.net"))
            let message = NewMessage(direction: .inbound, messageID: "<u-\(UUID().uuidString)@example.net>",
                                     subject: "Ohne", body: Array("Text".utf8), verdict: .unsigned,
                                     receivedAt: Date())
            guard case .stored(let id, _, _) = try tx.importMessage(message, into: .client(identity)) else {
                throw WebHarness.NotImported(outcome: "not stored")
            }
            return id
        }
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(thread.unredactedDescription)", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.text.contains("<dt>Schlüssel der Klient*in</dt><dd><code class=\"fingerprint\">"
                + Array(repeating: "ABAB", count: 10).joined(separator: " ") + "</code></dd>"))
        }
        await harness.pipe.close()
    }
}
