import Foundation
import Logging
@testable import MailBridge
import Testing
import TestSupport
import ThreadStore

/// Issue 28 item 3: the team notice "one message could not be fetched" survives a kill at either side of the MOVE
/// to the failed folder, and a MOVE retried after the kill sends no second one. Against the real Dovecot, with the
/// gateway's own hooks and a real ThreadStore outbox. The kill is simulated at the exact point
/// (``IMAPFetcher/CrashPoint``: the cycle ends there and saves nothing, as `kill -9` would), because the window
/// between the server's MOVE answer and the next statement cannot be hit with a real signal; "the restart" is a
/// new fetcher on the same state folder and store.
///
/// With the notice queued after the MOVE (the code before this test), the crash after the MOVE left no notice at
/// all: the restarted fetcher no longer lists the UID, so nobody ever learned of the message.
@Suite(.serialized) struct SetAsideNoticeCrashTests {
    static let logger = Logger(label: "imap-crash-test")

    @Test(.timeLimit(.minutes(2)), arguments: [true, false])
    func theNoticeIsQueuedOnceWhateverSideOfTheMoveTheKillHits(killAfterMove: Bool) async throws {
        let harness = try await PipelineHarness()
        let server = try DovecotServer()
        let (spool, spoolRoot) = try IMAPFetcherTests.makeSpool()
        let state = spoolRoot.appendingPathComponent("imap-state")
        defer { try? FileManager.default.removeItem(at: spoolRoot) }
        let filler = String(repeating: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/\n", count: 40)
        try server.deliver(IMAPFetcherTests.plainMail("oversized") + filler)
        try server.deliver(IMAPFetcherTests.plainMail("small"))
        try await server.start()
        let source = try IMAPFaultTests.source(server, maxMessageBytes: 2048)
        let before = IMAPFetcher.queueNoticeBeforeSetAside(pipeline: harness.pipeline)
        let after = IMAPFetcher.noticeOnSetAside(metrics: nil)

        let killed = IMAPFetcher(
            sources: [], intake: spool, limits: IMAPFetcher.Limits(), logger: Self.logger,
            stateFolder: state, beforeSetAside: before, setAside: after, beforeServerMark: { _ in true },
            crashPoint: { point in
                killAfterMove ? point == .afterFailedFolderMove(1) : point == .beforeFailedFolderMove(1)
            })
        await #expect(throws: IMAPFetcher.SimulatedCrash.self) { _ = try await killed.runCycle(source) }
        #expect(server.messages(in: "MailBridge/Failed").count == (killAfterMove ? 1 : 0))
        #expect(try await Self.notices(harness) == 1, "the notice must be durable before the MOVE")

        let restarted = IMAPFetcher(sources: [], intake: spool, limits: IMAPFetcher.Limits(), stateFolder: state,
                                    beforeSetAside: before, setAside: after, logger: Self.logger)
        let reports = try await IMAPFaultTests.cyclesUntilDone(restarted, source)
        #expect(server.messages(in: "INBOX").isEmpty)
        #expect(server.messages(in: "MailBridge/Failed").count == 1)
        #expect(server.messages(in: "MailBridge/Imported").count == 1)
        #expect(reports.flatMap(\.setAside) == (killAfterMove ? [] : [1]))
        #expect(try await Self.notices(harness) == 1, "one notice, whatever the number of MOVE attempts")
        #expect(await server.stop())
        await harness.close()
    }

    static func notices(_ harness: PipelineHarness) async throws -> Int {
        try await harness.outbox().filter { $0.kind == .notification }.count
    }
}
