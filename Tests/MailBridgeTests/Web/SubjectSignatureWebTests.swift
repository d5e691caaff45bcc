import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// "Signature valid" means the client wrote the words; it says nothing about a Subject that travelled outside the
/// signature (the outer header of a message without protected headers, or of inline PGP), which anyone on the way
/// could have changed. The page marks such a subject beside the verdict; the API says `subjectSigned`.
@Suite struct SubjectSignatureWebTests {
    static let threadKey = "C0FFEE00C0FFEE00C0FFEE00C0FFEE00C0FFEE02"

    /// A thread with three valid messages by the thread's key: subject signed, not signed, not recorded.
    static func seed(_ harness: WebHarness) async throws -> ThreadID {
        let identity = ClientIdentity(field: harness.pipe.mailbox.field,
                                      key: try ClientKeyFingerprint(threadKey),
                                      address: try ClientAddress("betreff@example.net"))
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return try await harness.store.write { tx in
            var thread: ThreadID?
            for (number, signed) in [(1, true as Bool?), (2, false), (3, nil)] {
                let signer = MessageSigner(fingerprint: try KeyFingerprint(threadKey),
                                           userID: "Kim <betreff@example.net>", subjectSigned: signed)
                let message = NewMessage(direction: .inbound, messageID: "<subject-\(number)@example.net>",
                                         subject: "Betreff \(number)", body: Array("Text \(number)".utf8),
                                         verdict: .valid, receivedAt: start.addingTimeInterval(Double(number)),
                                         signer: signer)
                let outcome = try tx.importMessage(message, into: thread.map { .thread($0) } ?? .client(identity))
                guard case .stored(let stored, _, _) = outcome else {
                    throw WebHarness.NotImported(outcome: "\(outcome)")
                }
                thread = stored
            }
            return thread!
        }
    }

    @Test func anUnsignedSubjectIsMarkedOnThePageAndInTheAPI() async throws {
        let harness = try await WebHarness()
        let thread = try await Self.seed(harness)
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(thread.unredactedDescription)", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.status == .ok)
            let blocks = SignatureDisplayWebTests.messageBlocks(page.text)
            try #require(blocks.count == 3)
            let note = "<span class=\"subject-unsigned\">(Betreff nicht signiert"
            #expect(!blocks[0].header.contains(note), "signed subject")
            #expect(blocks[1].header.contains("<dd class=\"subject\">Betreff 2 \(note)"), "outer subject")
            #expect(!blocks[2].header.contains(note), "not recorded (stored before)")

            let response = try await client.execute(uri: "/api/v1/threads/\(thread.unredactedDescription)",
                                                    method: .get, headers: harness.api("berater"))
            #expect(response.status == .ok)
            let messages = try #require(try APITests.json(response)["messages"] as? [[String: Any]])
            try #require(messages.count == 3)
            #expect(messages[0]["subjectSigned"] as? Bool == true)
            #expect(messages[1]["subjectSigned"] as? Bool == false)
            #expect(!messages[2].keys.contains("subjectSigned"))
        }
        await harness.pipe.close()
    }
}
