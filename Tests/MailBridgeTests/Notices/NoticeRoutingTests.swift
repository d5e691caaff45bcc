import Foundation
import Logging
import PGPShim
import Synchronization
import TestSupport
import Testing
import ThreadStore

@testable import MailBridge

/// Routed notices on the real pipeline (gpg, SQLite): who is told about a new message, each-message notices versus
/// hourly digests (counts only, one per window, nothing lost when a pass fails or the service restarts), links that
/// hold only the opaque thread ID, and canary scans over every notice and log line.
@Suite struct NoticeRoutingTests {
    static let inbox = try! InboxLink("https://inbox.example/")

    final class Clock: Sendable {
        private let current: Mutex<Date>
        init(_ start: Date) { current = Mutex(start) }
        var now: Date { current.withLock { $0 } }
        func set(_ date: Date) { current.withLock { $0 = date } }
    }

    struct Client {
        var key: KeyFingerprint
        var address: String
        var name: String
    }

    /// A pipeline over the harness's store and keys with its own clock, mailbox modes and inbox link.
    static func pipeline(_ harness: PipelineHarness, clock: Clock, teamMode: NoticeMode = .eachMessage,
                         secondMode: NoticeMode = .eachMessage) -> Pipeline {
        var first = harness.mailbox
        first.teamNoticeMode = teamMode
        var mailboxes = [first]
        if var second = harness.secondMailbox {
            second.teamNoticeMode = secondMode
            mailboxes.append(second)
        }
        return Pipeline(store: harness.store, pgp: harness.pgp,
                        configuration: .init(mailboxes: mailboxes, notices: NoticeSettings(inboxLink: inbox)),
                        logger: harness.logs.logger("pipeline"), now: { clock.now })
    }

    /// A signed, encrypted PGP/MIME mail with canaries in the protected subject, the text, a file name and the
    /// From display name.
    static func mail(_ harness: PipelineHarness, _ client: Client, canary: String, number: Int,
                     to mailbox: PipelineMailbox? = nil) throws -> InboundMessage {
        let mailbox = mailbox ?? harness.mailbox
        let inner = PipelineHarness.innerEntity(subject: "Betreff \(canary)-subject-\(number)",
                                                body: "Hallo \(canary)-body", fileName: "\(canary)-file.pdf")
        let ciphertext = try harness.client.gpg(
            ["--armor", "--sign", "--local-user", client.key.hex, "--encrypt", "--recipient", mailbox.gatewayKey.hex],
            stdin: Array(inner.utf8)).stdout
        let keydata = try harness.client.gpg(["--export", "--export-options", "export-minimal", client.key.hex]).stdout
        let raw = try harness.pgpMIMEMail(
            from: "\(client.name) <\(client.address)>", ciphertext: ciphertext,
            messageID: "<n\(number)-\(UUID().uuidString)@example.net>",
            extraHeaders: ["Autocrypt": " addr=\(client.address); prefer-encrypt=mutual; keydata="
                + Data(keydata).base64EncodedString()],
            to: mailbox.address.unredactedDescription)
        return try harness.spool(raw, from: client.address, to: mailbox.address.unredactedDescription)
    }

    static func makeClient(_ harness: PipelineHarness, canary: String, address: String = "klient@example.net")
        throws -> Client
    {
        Client(key: try harness.client.makeKey(address), address: address, name: "Klara \(canary)name")
    }

    /// The body of a notice, quoted-printable undone (soft line breaks removed, `=XX` decoded).
    static func decodedText(_ item: OutboxItem) -> String {
        let text = item.payload.text.replacingOccurrences(of: "=\r\n", with: "")
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "="), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func notices(_ harness: PipelineHarness) async throws -> [OutboxItem] {
        try await harness.outbox().filter { $0.kind == .notification }
    }

    /// Every `https://inbox.example/…` link of a notice, as text.
    static func links(_ text: String) -> [String] {
        text.components(separatedBy: "https://inbox.example").dropFirst().map {
            "https://inbox.example" + $0.prefix { !$0.isWhitespace }
        }
    }

    /// No canary (client text, subject, file name, From address, From name) in any notice or log line; no staff
    /// notification address in any log line.
    static func assertClean(_ harness: PipelineHarness, canaries: [String], staff: [String] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let notices = try await notices(harness)
        #expect(!notices.isEmpty, sourceLocation: sourceLocation)
        for notice in notices {
            let raw = notice.payload.text
            let decoded = decodedText(notice)
            for canary in canaries {
                #expect(!raw.contains(canary) && !decoded.contains(canary), "canary \(canary) in a notice",
                        sourceLocation: sourceLocation)
            }
        }
        for line in harness.logs.all {
            for canary in canaries + staff {
                #expect(!line.contains(canary), "\(canary) in a log line: \(line)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func assignedThreadsNotifyTheCounsellorAndOthersTheTeam() async throws {
        let harness = try await PipelineHarness()
        let clock = Clock(Date())
        let pipeline = Self.pipeline(harness, clock: clock)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let client = try Self.makeClient(harness, canary: canary)
        let staff = "anna.\(canary.lowercased())@staff.example"

        // 1. A new thread: the team, one notice, linking to the thread by its opaque ID only.
        guard case .imported(let thread, createdThread: true) = try await pipeline.accept(
            try Self.mail(harness, client, canary: canary, number: 1))
        else { Issue.record("not imported"); return }
        var notices = try await Self.notices(harness)
        #expect(notices.map(\.recipient.unredactedDescription) == [PipelineHarness.team])
        let text = Self.decodedText(try #require(notices.first))
        #expect(Self.links(text) == ["https://inbox.example/threads/\(thread.unredactedDescription)"])

        // 2. Assigned to a counsellor with an own address: that address only, the team hears nothing.
        let (anna, bert) = try await harness.store.write { tx in
            let hash = "$2b$04$" + String(repeating: "a", count: 53)
            let anna = try tx.createAccount(NewAccount(username: "anna", displayName: "Anna", role: .counsellor,
                                                       language: .english, fields: [harness.mailbox.field],
                                                       passwordHash: hash), actor: nil)
            // Anna works in English: her digest is in English, whatever the mailbox's language.
            let bert = try tx.createAccount(NewAccount(username: "bert", displayName: "Bert", role: .counsellor,
                                                       fields: [harness.mailbox.field], passwordHash: hash), actor: nil)
            try tx.setNotificationSettings(NotificationSettings(address: try ClientAddress(staff)), of: anna,
                                           actor: nil)
            try tx.assign(thread, to: anna, actor: nil)
            return (anna, bert)
        }
        clock.set(clock.now.addingTimeInterval(1))  // queue order follows the notices' times
        _ = try await pipeline.accept(try Self.mail(harness, client, canary: canary, number: 2))
        notices = try await Self.notices(harness)
        #expect(notices.map(\.recipient.unredactedDescription) == [PipelineHarness.team, staff])
        #expect(Self.links(Self.decodedText(notices[1]))
                == ["https://inbox.example/threads/\(thread.unredactedDescription)"])

        // 3. The counsellor asks for an hourly digest: nothing now, one count for her in this hour's window.
        try await harness.store.write { tx in
            try tx.setNotificationSettings(NotificationSettings(address: try ClientAddress(staff), mode: .hourly),
                                           of: anna, actor: nil)
        }
        clock.set(clock.now.addingTimeInterval(1))  // queue order follows the notices' times
        _ = try await pipeline.accept(try Self.mail(harness, client, canary: canary, number: 3))
        #expect(try await Self.notices(harness).count == 2)
        let window = try #require(NoticeMode.hourly.window(containing: clock.now))
        let pending = try await harness.store.read { try $0.dueNoticeCounts(now: window.upperBound) }
        #expect(pending.map(\.recipient) == [.account(anna)] && pending.map(\.count) == [1])

        // 4. Assigned to a counsellor without an address: the team, as for an unassigned thread.
        try await harness.store.write { tx in try tx.assign(thread, to: bert, actor: nil) }
        clock.set(clock.now.addingTimeInterval(1))  // queue order follows the notices' times
        _ = try await pipeline.accept(try Self.mail(harness, client, canary: canary, number: 4))
        // 5. Unassigned again: the team.
        try await harness.store.write { tx in try tx.assign(thread, to: nil, actor: nil) }
        clock.set(clock.now.addingTimeInterval(1))  // queue order follows the notices' times
        _ = try await pipeline.accept(try Self.mail(harness, client, canary: canary, number: 5))
        notices = try await Self.notices(harness)
        #expect(notices.map(\.recipient.unredactedDescription)
                == [PipelineHarness.team, staff, PipelineHarness.team, PipelineHarness.team])

        // The digest of step 3 goes to her address when the hour is over: counts only, the list link.
        let service = NoticeDigestService(store: harness.store, mailboxes: { [harness.mailbox] },
                                          inbox: { Self.inbox }, logger: harness.logs.logger("digest"),
                                          now: { window.upperBound.addingTimeInterval(60) })
        #expect(await service.runOnce() == NoticeDigestService.Report(queued: 1, dropped: 0))
        notices = try await Self.notices(harness)
        let digest = try #require(notices.last)
        #expect(digest.recipient.unredactedDescription == staff)
        let digestText = Self.decodedText(digest)
        #expect(digestText.contains("  suchtberatung: 1\r\n"))
        #expect(digestText.contains("Subject: Hourly summary of online counselling"))
        #expect(Self.links(digestText) == ["https://inbox.example/threads"])
        #expect(!digestText.contains(thread.unredactedDescription))
        try await Self.assertClean(harness, canaries: [canary, client.address, "Klara"], staff: [staff])
        await harness.close()
    }

    @Test func hourlyDigestsCountPerFieldOncePerWindowAndSurviveFailuresAndRestarts() async throws {
        let harness = try await PipelineHarness(secondMailbox: true)
        let second = try #require(harness.secondMailbox)
        let hour = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        let clock = Clock(hour.addingTimeInterval(600))
        let pipeline = Self.pipeline(harness, clock: clock, teamMode: .hourly, secondMode: .hourly)
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let first = try Self.makeClient(harness, canary: canary)
        let other = try Self.makeClient(harness, canary: canary, address: "zweite@example.net")
        var threads: [ThreadID] = []
        for (number, (client, mailbox)) in [(first, harness.mailbox), (first, harness.mailbox),
                                            (other, harness.mailbox), (first, second)].enumerated() {
            guard case .imported(let thread, _) = try await pipeline.accept(
                try Self.mail(harness, client, canary: canary, number: number, to: mailbox))
            else { Issue.record("message \(number) not imported"); return }
            threads.append(thread)
        }
        // A message in the next hour belongs to the next window.
        clock.set(hour.addingTimeInterval(3600 + 60))
        _ = try await pipeline.accept(try Self.mail(harness, other, canary: canary, number: 9))
        #expect(try await Self.notices(harness).isEmpty, "digest mode sends no notice per message")

        let mailboxes = [harness.mailbox, second]
        func service(at date: Date) -> NoticeDigestService {
            NoticeDigestService(store: harness.store, mailboxes: { mailboxes }, inbox: { Self.inbox },
                                logger: harness.logs.logger("digest"), now: { date })
        }
        // Before the window ends: nothing.
        #expect(await service(at: hour.addingTimeInterval(3599)).runOnce() == .init(queued: 0, dropped: 0))
        // A pass that fails before its commit queues nothing and loses nothing.
        struct Crash: Error {}
        await #expect(throws: Crash.self) {
            try await harness.store.write { tx in
                _ = try NoticeDigestService.queueDue(tx, now: hour.addingTimeInterval(3600), mailboxes: mailboxes,
                                                     inbox: Self.inbox)
                throw Crash()
            }
        }
        #expect(try await Self.notices(harness).isEmpty)
        // A fresh service (as after a restart) sends the window once: both fields share the team address, so one
        // digest with a count per field.
        #expect(await service(at: hour.addingTimeInterval(3660)).runOnce() == .init(queued: 1, dropped: 0))
        #expect(await service(at: hour.addingTimeInterval(3720)).runOnce() == .init(queued: 0, dropped: 0))
        var notices = try await Self.notices(harness)
        #expect(notices.count == 1)
        let digest = try #require(notices.first)
        #expect(digest.recipient.unredactedDescription == PipelineHarness.team)
        let text = Self.decodedText(digest)
        #expect(text.contains("  jugendberatung: 1\r\n  suchtberatung: 3\r\n"), "\(text)")
        #expect(text.contains("Neue verschlüsselte Nachrichten") && !text.contains("Hourly summary"),
                "the team's digest is in the mailbox's language (German)")
        #expect(Self.links(text) == ["https://inbox.example/threads"])
        for thread in threads { #expect(!text.contains(thread.unredactedDescription)) }
        let audit = try await harness.store.read { try $0.auditEntries() }.filter { $0.event == .noticeDigestQueued }
        #expect(audit.map(\.count) == [4])

        // The next window: its own digest, once.
        #expect(await service(at: hour.addingTimeInterval(7300)).runOnce() == .init(queued: 1, dropped: 0))
        #expect(await service(at: hour.addingTimeInterval(7400)).runOnce() == .init(queued: 0, dropped: 0))
        notices = try await Self.notices(harness)
        #expect(notices.count == 2)
        #expect(Self.decodedText(notices[1]).contains("  suchtberatung: 1\r\n"))
        try await Self.assertClean(harness, canaries: [canary, first.address, other.address, "Klara"])
        await harness.close()
    }
}
