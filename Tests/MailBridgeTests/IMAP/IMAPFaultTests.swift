import Foundation
import Logging
@testable import MailBridge
import NIOConcurrencyHelpers
import Testing
import TestSupport
import ThreadStore

/// Issue 28 items 3–5 against the real Dovecot: one message never stops a source, a backlog drains at full speed,
/// and new mail after a quiet IDLE arrives within seconds.
@Suite(.serialized) struct IMAPFaultTests {
    static let logger = Logger(label: "imap-fault-test")

    static func source(_ server: DovecotServer, afterImport: BridgeConfiguration.IMAPSource.AfterImport
                       = .move(folder: "MailBridge/Imported"), maxMessageBytes: Int? = nil,
                       maxFetchAttempts: Int = 3) throws -> IMAPFetcher.Source {
        var source = try IMAPFetcherTests.source(server, afterImport: afterImport)
        source.configuration.maxMessageBytes = maxMessageBytes
        source.configuration.maxFetchAttempts = maxFetchAttempts
        return source
    }

    /// Collects what the fetcher reports as set aside.
    final class SetAsideLog: Sendable {
        private let events = NIOLockedValueBox<[IMAPFetcher.SetAsideEvent]>([])
        var all: [IMAPFetcher.SetAsideEvent] { events.withLockedValue { $0 } }
        func record(_ event: IMAPFetcher.SetAsideEvent) { events.withLockedValue { $0.append(event) } }
    }

    /// Runs cycles as the service would (without sleeping) until one reports nothing more to do; returns them.
    static func cyclesUntilDone(_ fetcher: IMAPFetcher, _ source: IMAPFetcher.Source, limit: Int = 20)
        async throws -> [IMAPFetcher.CycleReport]
    {
        var reports: [IMAPFetcher.CycleReport] = []
        for _ in 0..<limit {
            let report = try await fetcher.runCycle(source)
            reports.append(report)
            if !report.more { break }
        }
        return reports
    }

    /// (3a) 60 messages over the size limit, then a small one: the small one is spooled and moved to the import
    /// folder, the 60 end in the failed folder (created on the fly), each reported once. With the old fetcher
    /// (the 50 lowest UIDs listed, too-large ones skipped) the small one was never fetched.
    @Test(.timeLimit(.minutes(2))) func oversizedMessagesDoNotBlockLaterOnes() async throws {
        let server = try DovecotServer()
        let (spool, spoolRoot) = try IMAPFetcherTests.makeSpool()
        defer { try? FileManager.default.removeItem(at: spoolRoot) }
        let filler = String(repeating: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/\n", count: 40)
        for index in 1...60 { try server.deliver(IMAPFetcherTests.plainMail("big\(index)") + filler) }
        try server.deliver(IMAPFetcherTests.plainMail("small"))
        try await server.start()
        let setAside = SetAsideLog()
        let fetcher = IMAPFetcher(sources: [], intake: spool, setAside: { setAside.record($0) }, logger: Self.logger)
        let source = try Self.source(server, maxMessageBytes: 2048)
        let reports = try await Self.cyclesUntilDone(fetcher, source)

        #expect(reports.flatMap(\.imported).count == 1)
        #expect(reports.flatMap(\.setAside).count == 60)
        #expect(server.messages(in: "INBOX").isEmpty)
        #expect(server.messages(in: "MailBridge/Failed").count == 60)
        #expect(server.messages(in: "MailBridge/Imported").count == 1)
        let pending = try spool.pending()
        #expect(pending.count == 1)
        #expect(try String(decoding: Data(contentsOf: pending[0].spoolFile), as: UTF8.self).contains("<small@"))
        #expect(setAside.all.count == 60 && setAside.all.allSatisfy { $0.reason == "too-large" && $0.moved })
        #expect(await server.stop())
    }

    /// (3b) A message Dovecot cannot read, between two good ones. The tests run as root but Dovecot's imap
    /// process runs as the mail user (nobody), so `chmod 000` on the maildir file makes its open fail: Dovecot
    /// answers the FETCH with "Internal error" and disconnects (the listing asks only for UIDs, which come from
    /// Dovecot's index). The failure count survives a restart (a new fetcher on the same state folder); after
    /// three attempts the message is moved to the failed folder and reported once; both good ones are imported.
    @Test(.timeLimit(.minutes(2))) func unreadableMessageIsSetAsideAfterThreeAttempts() async throws {
        let server = try DovecotServer()
        let (spool, spoolRoot) = try IMAPFetcherTests.makeSpool()
        let state = spoolRoot.appendingPathComponent("imap-state")
        defer { try? FileManager.default.removeItem(at: spoolRoot) }
        try server.deliver(IMAPFetcherTests.plainMail("good1"))
        try server.deliver(IMAPFetcherTests.plainMail("broken"))
        try server.deliver(IMAPFetcherTests.plainMail("good2"))
        let broken = try #require(server.messages(in: "INBOX").first { $0.lastPathComponent.contains(".M2P1.") })
        try await server.start()
        #expect(chmod(broken.path, 0) == 0)

        var limits = IMAPFetcher.Limits()
        limits.retryDelay = .zero
        let setAside = SetAsideLog()
        let first = IMAPFetcher(sources: [], intake: spool, limits: limits, stateFolder: state,
                                setAside: { setAside.record($0) }, logger: Self.logger)
        let source = try Self.source(server)
        let one = try await first.runCycle(source)
        #expect(one.imported == [1] && one.failed == [2] && one.more)
        let ledgerFiles = try FileManager.default.contentsOfDirectory(atPath: state.path)
        #expect(ledgerFiles.count == 1)
        let stored = try FetchFailureLedgerFile(folder: state, key: source.stateKey).load()
        #expect(stored.entries[2]?.attempts == 1 && stored.uidValidity != 0)
        let text = try String(contentsOf: state.appendingPathComponent(ledgerFiles[0]), encoding: .utf8)
        #expect(!text.contains(DovecotServer.user) && !text.contains("broken"))

        // "Restart": a new fetcher reads the count back, fetches good2 first, then fails twice more on UID 2.
        let restarted = IMAPFetcher(sources: [], intake: spool, limits: limits, stateFolder: state,
                                    setAside: { setAside.record($0) }, logger: Self.logger)
        let reports = try await Self.cyclesUntilDone(restarted, source)
        #expect(reports.flatMap(\.imported) == [3])
        #expect(reports.flatMap(\.failed) == [2, 2])
        #expect(reports.flatMap(\.setAside) == [2])
        #expect(setAside.all.map(\.uid) == [2] && setAside.all.first?.reason == "fetch-failed")
        #expect(setAside.all.first?.attempts == 3)
        #expect(server.messages(in: "INBOX").isEmpty)
        #expect(server.messages(in: "MailBridge/Failed").count == 1)
        #expect(server.messages(in: "MailBridge/Imported").count == 2)
        #expect(try spool.pending().count == 2)
        #expect(try FetchFailureLedgerFile(folder: state, key: source.stateKey).load().entries.isEmpty)
        #expect(server.log.contains("Permission denied"), "the failure was not Dovecot's: \(server.log)")
        #expect(await server.stop())
    }

    /// The notice for a set-aside message: one fixed team notice through the outbox, German for a German
    /// mailbox, with no UID, reason, folder or sender in it.
    @Test func setAsideQueuesOneContentFreeTeamNotice() async throws {
        let harness = try await PipelineHarness()
        let metrics = GatewayMetrics()
        let before = IMAPFetcher.queueNoticeBeforeSetAside(pipeline: harness.pipeline)
        let handler = IMAPFetcher.noticeOnSetAside(metrics: metrics)
        let event = IMAPFetcher.SetAsideEvent(
            sourceIndex: 0, deliverTo: try EmailAddress(PipelineHarness.counselling), uid: 918_273_645,
            reason: "fetch-failed", attempts: 3, moved: true, key: "abc 7 918273645")
        try await before(event)
        await handler(event)
        try await before(event)  // the same message again (a MOVE retried after a kill): no second notice
        let outbox = try await harness.outbox()
        #expect(outbox.count == 1)
        let item = try #require(outbox.first)
        #expect(item.kind == .notification)
        #expect(item.recipient.unredactedDescription == PipelineHarness.team)
        let mail = String(decoding: item.payload, as: UTF8.self)
        #expect(mail.contains("Eine Nachricht konnte nicht abgeholt werden"))
        #expect(!mail.contains("918273645") && !mail.contains("fetch-failed") && !mail.contains("Failed"))
        let exposition = String(decoding: metrics.exposition(), as: UTF8.self)
        let counter = "mailbridge_imap_messages_set_aside_total"
        #expect(exposition.contains("\(counter){moved=\"yes\",reason=\"fetch_failed\"} 1")
                || exposition.contains("\(counter){reason=\"fetch_failed\",moved=\"yes\"} 1"), "\(exposition)")
        // No mailbox with that address: nothing queued.
        #expect(try await harness.pipeline.queueFetchFailedNotice(for: try EmailAddress("x@example.com")) == false)
        #expect(RedirectTemplate.fetchFailed(german: false).body.contains("One message could not be fetched"))
        await harness.close()
    }

    /// (4) A backlog drains at full speed: 300 plain messages through the running service and a real pipeline
    /// runner (every one redirected once). The old fetcher took one batch of 50 a minute (6 minutes for 300).
    /// Prints the drain rate; `scripts/bench-imap` does the same with 1,000.
    @Test(.timeLimit(.minutes(3))) func backlogDrainsWithoutSleeping() async throws {
        let count = 300
        let harness = try await PipelineHarness()
        let server = try DovecotServer()
        let (spool, spoolRoot) = try IMAPFetcherTests.makeSpool()
        defer { try? FileManager.default.removeItem(at: spoolRoot) }
        for index in 1...count {
            try server.deliver(IMAPFetcherTests.plainMail("drain\(index)", from: "absender\(index)@example.net"))
        }
        try await server.start()
        let runner = PipelineRunner(spool: spool, pipeline: harness.pipeline, logger: Self.logger,
                                    pollInterval: .milliseconds(100), concurrency: 2)
        var limits = IMAPFetcher.Limits()
        limits.pollInterval = .seconds(60)
        let fetcher = IMAPFetcher(sources: [try Self.source(server)],
                                  intake: KickingIntake(spool: spool, runner: runner, metrics: nil), limits: limits,
                                  logger: Self.logger)
        let started = ContinuousClock.now
        let runnerTask = Task { try await runner.run() }
        let fetcherTask = Task { try await fetcher.run() }
        var drained = false
        while !drained, ContinuousClock.now - started < .seconds(150) {
            try await Task.sleep(for: .milliseconds(100))
            drained = try server.messages(in: "MailBridge/Imported").count == count && spool.pending().isEmpty
        }
        let elapsed = ContinuousClock.now - started
        fetcherTask.cancel()
        runnerTask.cancel()
        _ = try? await fetcherTask.value
        _ = try? await runnerTask.value
        let seconds = elapsed.timeInterval
        print("IMAP backlog drain: \(count) messages fetched, spooled and redirected in \(elapsed) "
              + "(\(Int(Double(count) / seconds)) messages/s)")
        #expect(drained)
        #expect(elapsed < .seconds(120), "old behaviour: one batch of 50 per minute")
        let outbox = try await harness.outbox()
        #expect(outbox.filter { $0.kind == .redirectReply }.count == count)
        #expect(server.messages(in: "INBOX").count == 0)
        #expect(await server.stop())
        await harness.close()
    }

    /// (4) After an IDLE that ends quietly (here after the 6 s poll interval), IDLE is entered again at once: a
    /// message delivered 1.5 s later is spooled within 5 s (asserted: 3 s). The old fetcher slept a whole poll
    /// interval without IDLE after a quiet one, so it took about 4.5 s or more here (54.6 s in production).
    @Test(.timeLimit(.minutes(1))) func newMailAfterAQuietIdleArrivesWithinSeconds() async throws {
        let server = try DovecotServer()
        let (spool, spoolRoot) = try IMAPFetcherTests.makeSpool()
        defer { try? FileManager.default.removeItem(at: spoolRoot) }
        try await server.start()
        var limits = IMAPFetcher.Limits()
        limits.pollInterval = .seconds(6)
        let fetcher = IMAPFetcher(sources: [try Self.source(server)], intake: spool, limits: limits,
                                  logger: Self.logger)
        let task = Task { try await fetcher.run() }
        try await Task.sleep(for: .milliseconds(7500))  // the first IDLE ended quietly at about 6 s
        let delivered = ContinuousClock.now
        try server.deliver(IMAPFetcherTests.plainMail("afterquiet"))
        _ = try Shell.run("chown", ["-R", "\(DovecotServer.mailUID):\(DovecotServer.mailUID)", server.inbox.path])
        var found = false
        while !found, ContinuousClock.now - delivered < .seconds(10) {
            found = try spool.pending().count == 1
            if !found { try await Task.sleep(for: .milliseconds(25)) }
        }
        let latency = ContinuousClock.now - delivered
        print("IMAP new mail after a quiet IDLE (poll interval 6 s): spooled after \(latency)")
        #expect(found)
        #expect(latency < .seconds(3))
        task.cancel()
        _ = try? await task.value
        #expect(await server.stop())
    }

    /// Back-pressure: while the spool holds `maximumSpoolBacklog` messages the fetcher waits; when the runner
    /// takes one, it goes on at once; a backlog that does not shrink holds it back only `backlogStallTimeout`.
    @Test func spoolBacklogHoldsFetchingBackButNeverStopsIt() async throws {
        let (spool, spoolRoot) = try IMAPFetcherTests.makeSpool()
        defer { try? FileManager.default.removeItem(at: spoolRoot) }
        for index in 0..<3 {
            try Data().write(to: spool.incomingFolder.appendingPathComponent("0000000000000000000\(index).eml"))
        }
        #expect(spool.backlogCount() == 3)
        var limits = IMAPFetcher.Limits()
        limits.maximumSpoolBacklog = 3
        limits.backlogStallTimeout = .seconds(1)
        let fetcher = IMAPFetcher(sources: [], intake: spool, limits: limits, logger: Self.logger)
        let stalled = ContinuousClock.now
        await fetcher.waitForSpoolBacklog()
        let waited = ContinuousClock.now - stalled
        #expect(waited >= .seconds(1) && waited < .seconds(3), "\(waited)")
        let draining = ContinuousClock.now
        let remover = Task {
            try await Task.sleep(for: .milliseconds(300))
            let first = spool.incomingFolder.appendingPathComponent("00000000000000000000.eml")
            try FileManager.default.removeItem(at: first)
        }
        await fetcher.waitForSpoolBacklog()
        try await remover.value
        #expect(ContinuousClock.now - draining < .milliseconds(900))
    }

    @Test func ledgerDecisions() {
        var ledger = FetchFailureLedger()
        ledger.selected(uidValidity: 7)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(ledger.decision(uid: 5, now: start, maximumAttempts: 3, retryDelay: 30, maximumDelay: 900) == .fetch)
        ledger.recordFailure(uid: 5, reason: .fetchFailed, at: start)
        #expect(ledger.decision(uid: 5, now: start.addingTimeInterval(10), maximumAttempts: 3, retryDelay: 30,
                                maximumDelay: 900) == .retryLater(start.addingTimeInterval(30)))
        #expect(ledger.decision(uid: 5, now: start.addingTimeInterval(30), maximumAttempts: 3, retryDelay: 30,
                                maximumDelay: 900) == .fetch)
        ledger.recordFailure(uid: 5, reason: .fetchFailed, at: start)
        #expect(ledger.decision(uid: 5, now: start.addingTimeInterval(59), maximumAttempts: 3, retryDelay: 30,
                                maximumDelay: 900) == .retryLater(start.addingTimeInterval(60)))
        ledger.recordFailure(uid: 5, reason: .fetchFailed, at: start)
        #expect(ledger.decision(uid: 5, now: start, maximumAttempts: 3, retryDelay: 30, maximumDelay: 900)
                == .setAside(.fetchFailed))
        ledger.recordFailure(uid: 6, reason: .tooLarge, at: start)
        #expect(ledger.decision(uid: 6, now: start, maximumAttempts: 3, retryDelay: 30, maximumDelay: 900)
                == .setAside(.tooLarge))
        ledger.park(uid: 6)
        #expect(ledger.decision(uid: 6, now: start, maximumAttempts: 3, retryDelay: 30, maximumDelay: 900) == .leave)
        ledger.keepOnly([5])
        #expect(ledger.entries.keys.sorted() == [5])
        ledger.selected(uidValidity: 7)
        #expect(ledger.entries.count == 1)
        ledger.selected(uidValidity: 8)  // another folder generation: the old UIDs mean nothing
        #expect(ledger.entries.isEmpty)
    }
}
