import Foundation
import Logging
@testable import MailBridge
import MailValues
import NIOConcurrencyHelpers
import NIOCore
import TestSupport
import Testing
import ThreadStore

/// The runner's side of the shared spool (issue 21), against a mirror whose answers the test sets (the real one on
/// PostgreSQL is covered by PostgresInboundSpoolTests, PostgresLostNodeTests and PostgresOutageTests): an entry
/// another node holds waits, marked, and is dropped unprocessed once that node is done; an entry whose shared copy
/// is not trusted or gone is processed here; a message accepted while the mirror was away is shared when it is back;
/// a mirror that refuses a message for another reason refuses the `250`.
@Suite struct PipelineRunnerMirrorTests {
    final class FakeMirror: SpoolMirror {
        let states = NIOLockedValueBox<[QueueID: SpoolCopyState]>([:])
        let recorded = NIOLockedValueBox<[QueueID]>([])
        let released = NIOLockedValueBox<[QueueID]>([])
        /// nil: reachable; else what `record` throws.
        let failure = NIOLockedValueBox<(any Error & Sendable)?>(nil)

        func record(_ queueID: QueueID, envelope: Data, messageFile: String) async throws {
            if let failure = failure.withLockedValue({ $0 }) { throw failure }
            recorded.withLockedValue { $0.append(queueID) }
            states.withLockedValue { $0[queueID] = .mine }
        }
        func synchronize(_ spool: SpoolIntake) async throws {
            if failure.withLockedValue({ $0 }) != nil { throw SpoolMirrorUnavailable(reason: "test") }
        }
        func locate(_ ids: [QueueID]) async throws -> [QueueID: SpoolCopyState] {
            states.withLockedValue { states in states.filter { ids.contains($0.key) } }
        }
        func release(_ queueID: QueueID) async throws {
            released.withLockedValue { $0.append(queueID) }
            states.withLockedValue { $0[queueID] = nil }
        }
        func renew() async throws {}
        var renewInterval: Duration { .seconds(60) }
    }

    struct Refused: Error, Sendable {}

    /// Spools a plain message from `sender` as the SMTP session does; returns its queue ID.
    private func spool(from sender: String, into intake: SpoolIntake) async throws -> QueueID {
        try await PipelineHarness.spool("From: \(sender)\r\nTo: \(PipelineHarness.counselling)\r\nSubject: Hallo\r\n"
                                        + "Message-ID: <\(UUID())@example.net>\r\n\r\nIch brauche Hilfe.\r\n",
                                        from: sender, into: intake)
    }

    @Test func entriesAreProcessedHereOrWaitForTheNodeThatHoldsThem() async throws {
        let harness = try await PipelineHarness()
        let mirror = FakeMirror()
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"), mirror: mirror)
        let runner = PipelineRunner(spool: intake, pipeline: harness.pipeline, logger: harness.logs.logger())
        let elsewhere = try await spool(from: "eins@example.net", into: intake)
        let unusable = try await spool(from: "zwei@example.net", into: intake)
        let gone = try await spool(from: "drei@example.net", into: intake)
        let mine = try await spool(from: "vier@example.net", into: intake)
        #expect(mirror.recorded.withLockedValue { $0 } == [elsewhere, unusable, gone, mine])
        mirror.states.withLockedValue {
            $0[elsewhere] = .elsewhere
            $0[unusable] = .unusable
            $0[gone] = nil
        }
        await runner.drain()
        // Only the entry another node holds is left, marked; the three others were processed (one redirect each).
        #expect(try intake.incomingIDs() == [elsewhere])
        #expect(intake.handedOverMarks.ids() == [elsewhere])
        #expect(try await harness.outbox().count == 3)
        #expect(Set(mirror.released.withLockedValue { $0 }) == [unusable, gone, mine])
        await runner.drain()
        #expect(try intake.incomingIDs() == [elsewhere], "a waiting entry was processed")

        // That node processed it (its row is gone): dropped here, unprocessed.
        mirror.states.withLockedValue { $0[elsewhere] = nil }
        await runner.drain()
        #expect(try intake.incomingIDs().isEmpty)
        #expect(intake.handedOverMarks.ids().isEmpty)
        #expect(try await harness.outbox().count == 3)

        // Another entry handed over and then given back (its row is this node's again): processed here.
        let back = try await spool(from: "fuenf@example.net", into: intake)
        mirror.states.withLockedValue { $0[back] = .elsewhere }
        await runner.drain()
        #expect(intake.handedOverMarks.ids() == [back])
        mirror.states.withLockedValue { $0[back] = .mine }
        await runner.drain()
        #expect(try intake.incomingIDs().isEmpty && intake.handedOverMarks.ids().isEmpty)
        #expect(try await harness.outbox().count == 4)
        await harness.close()
    }

    @Test func mailAcceptedWhileTheMirrorIsAwayIsSharedWhenItIsBack() async throws {
        let harness = try await PipelineHarness()
        let mirror = FakeMirror()
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"), mirror: mirror)
        mirror.failure.withLockedValue { $0 = SpoolMirrorUnavailable(reason: "test") }
        let id = try await spool(from: "eins@example.net", into: intake)
        #expect(mirror.recorded.withLockedValue { $0 }.isEmpty)
        #expect(try intake.incomingIDs() == [id])
        mirror.failure.withLockedValue { $0 = nil }
        let runner = PipelineRunner(spool: intake, pipeline: harness.pipeline, logger: harness.logs.logger())
        await runner.drain()
        #expect(mirror.recorded.withLockedValue { $0 } == [id])
        #expect(mirror.released.withLockedValue { $0 } == [id])
        #expect(try intake.incomingIDs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: intake.unsharedMarks.folder.path).isEmpty)
        #expect(try await harness.outbox().count == 1)

        // Refused for another reason than being away: no 250, nothing kept.
        mirror.failure.withLockedValue { $0 = Refused() }
        await #expect(throws: Refused.self) { _ = try await spool(from: "zwei@example.net", into: intake) }
        #expect(try intake.incomingIDs().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: intake.unsharedMarks.folder.path).isEmpty)
        await harness.close()
    }
}
