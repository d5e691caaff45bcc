import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// Counsellor replies in the thread page (issue 22): labelled "Gesendet", with their author and their delivery
/// state from the outbox; replying to an unassigned thread assigns it to the replier (`assign-on-reply`).
@Suite struct ReplyDeliveryWebTests {
    /// The `li.message.outbound` blocks of a thread page, in order.
    static func replies(_ html: String) -> [String] {
        html.components(separatedBy: "<li class=\"message outbound").dropFirst()
            .map { String($0.components(separatedBy: "</li>")[0]) }
    }

    @Test func repliesShowAuthorAndDeliveryStateAndTheReplierTakesTheThread() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importClientMail(
            inner: "Content-Type: text/plain; charset=utf-8\nSubject: Frage\n\nEine Frage\n")
        let id = thread.unredactedDescription
        let berater = harness.counsellor("berater")
        try await harness.test { client in
            func reply(_ user: String, _ text: String) async throws {
                let posted = try await client.execute(uri: "/threads/\(id)/reply", method: .post,
                                                      headers: harness.browser(user, form: true),
                                                      body: harness.form(user, ["text": text]))
                #expect(posted.status == .seeOther)
            }
            func page(_ user: String = "berater") async throws -> String {
                try await client.execute(uri: "/threads/\(id)", method: .get, headers: harness.browser(user)).text
            }
            try await reply("berater", "Erste Antwort")
            var shown = Self.replies(try await page())
            #expect(shown.count == 1)
            #expect(shown[0].contains("<dt>Gesendet</dt>") && !shown[0].contains("Eingegangen"))
            #expect(shown[0].contains("<dt>Geschrieben von</dt><dd class=\"author\">Name berater</dd>"))
            #expect(shown[0].contains("<span class=\"delivery delivery-queued\">In der Warteschlange</span>"))
            // The inbound message keeps its label.
            #expect(try await page().contains("<dt>Eingegangen</dt>"))
            // The unassigned thread is now the replier's.
            #expect(try await harness.store.read { try $0.inboxThread(thread)?.assignedTo } == berater.id)

            // The outbox delivers the first reply; the second (by the team lead) fails for good.
            let first = try #require(try await harness.pipe.outbox().first { $0.kind == .counsellorReply })
            try await harness.store.write { tx in try tx.markOutboxDelivered(first.id) }
            try await reply("leitung", "Zweite Antwort")
            let second = try #require(try await harness.pipe.outbox().first { $0.kind == .counsellorReply })
            try await harness.store.write { tx in try tx.markOutboxFailed(second.id) }
            shown = Self.replies(try await page())
            #expect(shown.count == 2)
            #expect(shown[0].contains("<span class=\"delivery delivery-sent\">An den Mailserver übergeben</span>"))
            #expect(shown[1].contains("<dd class=\"author\">Name leitung</dd>"))
            #expect(shown[1].contains("delivery-failed\">Fehlgeschlagen – bitte die Administration informieren"))
            // An assigned thread stays with its assignee when someone else replies.
            #expect(try await harness.store.read { try $0.inboxThread(thread)?.assignedTo } == berater.id)

            // The API gives the same: author and delivery on outbound messages, neither on inbound ones.
            let json = try APITests.json(try await client.execute(uri: "/api/v1/threads/\(id)", method: .get,
                                                                  headers: harness.api("berater")))
            let messages = (json["messages"] as? [[String: Any]]) ?? []
            let outbound = messages.filter { $0["direction"] as? String == "outbound" }
            #expect(outbound.map { $0["delivery"] as? String } == ["sent", "failed"])
            #expect(outbound.map { $0["authorId"] as? String }
                    == [berater.id, harness.counsellor("leitung").id].map(\.unredactedDescription))
            let inbound = messages.filter { $0["direction"] as? String == "inbound" }
            #expect(inbound.count == 1 && inbound.allSatisfy { $0["delivery"] == nil && $0["authorId"] == nil })
        }
        let assigned = try await harness.store.read { try $0.auditEntries() }.filter { $0.event == .threadAssigned }
        #expect(assigned.map(\.actor) == [berater.id] && assigned.first?.thread == thread)
        await harness.pipe.close()
    }

    /// `assign-on-reply = false`: replying leaves an unassigned thread unassigned.
    @Test func assignOnReplyCanBeSwitchedOffPerField() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importClientMail(
            inner: "Content-Type: text/plain; charset=utf-8\nSubject: Frage\n\nEine Frage\n")
        var mailbox = harness.pipe.mailbox
        mailbox.assignOnReply = false
        let composer = ReplyComposer(store: harness.store, pgp: harness.pipe.pgp, mailboxes: [mailbox],
                                     logger: Logger(label: "test"))
        let berater = harness.counsellor("berater").id
        _ = try await composer.queueReply(thread: thread, text: "Antwort", counsellor: nil, actor: berater,
                                          via: .browser)
        #expect(try await harness.store.read { try $0.inboxThread(thread)?.assignedTo } == nil)
        // Default on: the same reply through the harness's composer (the configured default) assigns.
        _ = try await harness.services.replies.queueReply(thread: thread, text: "Noch eine", counsellor: nil,
                                                          actor: berater, via: .browser)
        #expect(try await harness.store.read { try $0.inboxThread(thread)?.assignedTo } == berater)
        await harness.pipe.close()
    }
}
