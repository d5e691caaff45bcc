import Foundation
import Logging
import MailBridge
import NIOCore
import TestSupport
import Testing

/// Issue 18 (1): one damaged spool entry never stops the others. Every kind of damage is quarantined once, with
/// its cause; good entries around it are listed and processed; an administrator can re-inject or delete.
@Suite struct SpoolQuarantineTests {
    /// Spools one good message through the real intake and returns its queue ID.
    private func spoolGood(_ spool: SpoolIntake, _ millis: UInt64, body: String = "Subject: x\r\n\r\nhi\r\n")
        async throws -> QueueID
    {
        let id = QueueID.make(millisecondsSince1970: millis)
        let file = try spool.makeSpoolFile(queueID: id)
        try await file.append(ByteBuffer(string: body))
        try await file.finish()
        _ = try await spool.accept(InboundMessage(envelope: try SpoolIntakeTests.envelope(id), spoolFile: file.url,
                                                  size: file.size))
        return id
    }

    /// The damage kinds, each next to good messages: the name written, what is broken, the expected cause.
    private func damage(_ spool: SpoolIntake) async throws -> [String: QuarantineCause] {
        var expected: [String: QuarantineCause] = [:]
        let incoming = spool.incomingFolder
        // A message without its envelope (crash, full disk, hand copy).
        let orphan = QueueID.make(millisecondsSince1970: 10).rawValue
        try Data("orphan".utf8).write(to: incoming.appending(path: "\(orphan).eml"))
        expected[orphan] = .missingEnvelope
        // A truncated envelope.
        let truncated = try await spoolGood(spool, 20).rawValue
        let full = try Data(contentsOf: incoming.appending(path: "\(truncated).env"))
        try full.prefix(full.count / 2).write(to: incoming.appending(path: "\(truncated).env"))
        expected[truncated] = .corruptEnvelope
        // An envelope of a future format version.
        let future = try await spoolGood(spool, 30).rawValue
        var json = try #require(try JSONSerialization.jsonObject(
            with: try Data(contentsOf: incoming.appending(path: "\(future).env"))) as? [String: Any])
        json["version"] = 2
        try JSONSerialization.data(withJSONObject: json).write(to: incoming.appending(path: "\(future).env"))
        expected[future] = .unknownVersion
        // An envelope that cannot be read at all (a folder where the file should be; root ignores file modes).
        let unreadable = QueueID.make(millisecondsSince1970: 40).rawValue
        try Data("x".utf8).write(to: incoming.appending(path: "\(unreadable).eml"))
        try FileManager.default.createDirectory(at: incoming.appending(path: "\(unreadable).env"),
                                                withIntermediateDirectories: false)
        expected[unreadable] = .unreadable
        // An envelope whose queue ID does not match its file.
        let mismatched = try await spoolGood(spool, 50).rawValue
        let other = try await spoolGood(spool, 51).rawValue
        try FileManager.default.removeItem(at: incoming.appending(path: "\(mismatched).env"))
        try FileManager.default.copyItem(at: incoming.appending(path: "\(other).env"),
                                         to: incoming.appending(path: "\(mismatched).env"))
        expected[mismatched] = .corruptEnvelope
        // A file copied in by hand under a name the spool never writes.
        try Data("hand".utf8).write(to: incoming.appending(path: "copied-by-hand.eml"))
        expected["copied-by-hand"] = .foreignName
        return expected
    }

    @Test func everyKindOfDamageIsQuarantinedOnceAndTheRestIsListed() async throws {
        let folder = try SpoolTestFolder()
        let spool = try SpoolIntake(root: folder.url)
        let first = try await spoolGood(spool, 1)
        let expected = try await damage(spool)
        let last = try await spoolGood(spool, 99)

        let scan = try spool.scan()
        #expect(scan.messages.map(\.queueID).contains(first))
        #expect(scan.messages.map(\.queueID).contains(last))
        #expect(scan.messages.count == 3)  // first, last and the good one whose envelope was copied
        #expect(Dictionary(uniqueKeysWithValues: scan.quarantined.map { ($0.name, $0.cause) }) == expected)
        // Listed once: the next scan sees only the good messages, and the quarantine holds every damaged entry.
        let again = try spool.scan()
        #expect(again.quarantined.isEmpty)
        #expect(again.messages.count == 3)
        #expect(Dictionary(uniqueKeysWithValues: try spool.quarantined().map { ($0.name, $0.cause) }) == expected)
    }

    @Test func quarantinedEntriesCanBeReinjectedOrDeleted() async throws {
        let folder = try SpoolTestFolder()
        let spool = try SpoolIntake(root: folder.url)
        let expected = try await damage(spool)
        _ = try spool.scan()
        let orphan = try #require(expected.first(where: { $0.value == .missingEnvelope })?.key)
        // Without an envelope, re-injection needs one.
        #expect(throws: SpoolError(.corruptEnvelope)) { try spool.reinject(orphan) }
        let envelope = try SpoolIntakeTests.envelope(.make(millisecondsSince1970: 0))
        let id = try spool.reinject(orphan, envelope: envelope)
        let pending = try spool.scan()
        let back = try #require(pending.messages.first(where: { $0.queueID == id }))
        #expect(try Data(contentsOf: back.spoolFile) == Data("orphan".utf8))
        #expect(back.envelope.recipients.map(\.canonical) == ["beratung@example.org"])
        #expect(!(try spool.quarantined().map(\.name).contains(orphan)))
        // Deleting removes every file of the entry; names with paths are refused.
        try spool.deleteQuarantined("copied-by-hand")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: spool.quarantineFolder.path)
                  .contains { $0.hasPrefix("copied-by-hand") }))
        #expect(throws: SpoolError(.foreignFile)) { try spool.deleteQuarantined("../incoming/x") }
        #expect(throws: SpoolError(.open)) { try spool.deleteQuarantined("no-such-entry") }
    }

    /// The runner logs each quarantined entry once, counts it, and processes every good message around it.
    @Test func damagedEntriesDoNotStopTheRunner() async throws {
        let harness = try await PipelineHarness()
        let folder = try SpoolTestFolder()
        let spool = try SpoolIntake(root: folder.url)
        let plain = "From: client@example.net\r\nTo: \(PipelineHarness.counselling)\r\nSubject: hallo\r\n"
            + "Message-ID: <q@example.net>\r\n\r\nHallo\r\n"
        _ = try await spoolGood(spool, 1, body: plain)
        let expected = try await damage(spool)
        let causes = LockedCauses()
        let runner = PipelineRunner(spool: spool, pipeline: harness.pipeline, logger: harness.logs.logger(),
                                    onQuarantine: { causes.append($0) })
        await runner.drain()
        #expect(causes.all.sorted(by: { $0.rawValue < $1.rawValue })
                == expected.values.sorted(by: { $0.rawValue < $1.rawValue }))
        // Every good message was processed and left the spool; nothing damaged remains in incoming.
        #expect(try spool.scan().messages.isEmpty)
        #expect(try await harness.outbox().count == 1)  // one redirect: both good messages share a sender
        #expect(harness.logs.all.filter { $0.contains("spool entry quarantined") }.count == expected.count)
        #expect(!harness.logs.all.contains { $0.contains("cannot list the spool") })
        await runner.drain()
        #expect(harness.logs.all.filter { $0.contains("spool entry quarantined") }.count == expected.count)
        await harness.close()
    }
}

private final class LockedCauses: @unchecked Sendable {
    private let lock = NSLock()
    private var causes: [QuarantineCause] = []
    func append(_ cause: QuarantineCause) { lock.withLock { causes.append(cause) } }
    var all: [QuarantineCause] { lock.withLock { causes } }
}
