import Foundation
import MailBridge
import MailValues
import NIOCore
import Testing

/// A unique temporary folder per test, removed at the end.
struct SpoolTestFolder: ~Copyable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appending(path: "mailbridge-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
}

struct SpoolIntakeTests {
    static func envelope(_ id: QueueID) throws -> InboundMessage.Envelope {
        InboundMessage.Envelope(
            reversePath: .mailbox(try EmailAddress("client@example.net")),
            recipients: [try EmailAddress("beratung@example.org")],
            clientAddress: PeerAddress("192.0.2.7"),
            receivedAt: Date(timeIntervalSince1970: 1_700_000_000),
            queueID: id,
            smtpUTF8: true
        )
    }

    @Test func acceptMovesMessageAndEnvelopeIntoIncoming() async throws {
        let folder = try SpoolTestFolder()
        let spool = try SpoolIntake(root: folder.url)
        let id = QueueID.make(millisecondsSince1970: 1)
        let file = try spool.makeSpoolFile(queueID: id)
        let body = String(repeating: "line of text\r\n", count: 10_000)  // > flush threshold
        try await file.append(ByteBuffer(string: body))
        try await file.finish()
        let receipt = try await spool.accept(
            InboundMessage(envelope: try Self.envelope(id), spoolFile: file.url, size: file.size)
        )
        #expect(receipt.queueID == id)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.temporaryFolder.path).isEmpty)
        let pending = try spool.pending()
        #expect(pending.count == 1)
        #expect(pending[0].envelope == (try Self.envelope(id)))
        #expect(pending[0].size == body.utf8.count)
        #expect(try String(contentsOf: pending[0].spoolFile, encoding: .utf8) == body)
        try spool.remove(pending[0])
        #expect(try spool.pending().isEmpty)
    }

    @Test func discardedAndAbandonedFilesLeaveNothing() async throws {
        let folder = try SpoolTestFolder()
        let spool = try SpoolIntake(root: folder.url)
        let file = try spool.makeSpoolFile(queueID: .make(millisecondsSince1970: 2))
        try await file.append(ByteBuffer(string: "partial"))
        file.discard()
        do {
            let abandoned = try spool.makeSpoolFile(queueID: .make(millisecondsSince1970: 3))
            try await abandoned.append(ByteBuffer(string: "x"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.temporaryFolder.path).isEmpty)
    }

    @Test func recoverDropsHalfReceivedFilesAndOrphanEnvelopes() throws {
        let folder = try SpoolTestFolder()
        let spool = try SpoolIntake(root: folder.url)
        try Data("half".utf8).write(to: spool.temporaryFolder.appending(path: "0000000000010000000a.eml"))
        try Data("{}".utf8).write(to: spool.incomingFolder.appending(path: "0000000000020000000b.env"))
        #expect(try spool.recover() == 2)
        #expect(try spool.pending().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.incomingFolder.path).isEmpty)
    }

    @Test func refusesFilesFromElsewhere() async throws {
        let folder = try SpoolTestFolder()
        let spool = try SpoolIntake(root: folder.url)
        let id = QueueID.make(millisecondsSince1970: 4)
        let message = InboundMessage(envelope: try Self.envelope(id), spoolFile: URL(filePath: "/etc/passwd"), size: 1)
        await #expect(throws: SpoolError(.foreignFile)) { try await spool.accept(message) }
    }

    @Test func queueIDsAreValidatedAndSortable() {
        let a = QueueID.make(millisecondsSince1970: 1000)
        let b = QueueID.make(millisecondsSince1970: 2000)
        #expect(a < b)
        #expect(QueueID(a.rawValue) == a)
        #expect(QueueID("../../etc/passwd") == nil)
        #expect(QueueID("ABCDEF0123456789abcd") == nil)
    }
}
