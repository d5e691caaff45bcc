import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// `mailbridge thread show` on both engines (``InboxStore/exportThread(_:via:)``): the whole thread, decrypted in
/// the transaction that audits the export without an account, nothing marked read (issue 21).
@Suite struct InboxExportConformanceTests {
    static let engines = InboundEngines.engines

    @Test(arguments: engines)
    func theCommandLineExportsAWholeThreadAuditedWithoutAnAccount(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let (thread, _, ids) = try await InboxConformanceTests().fill(engine)
        let before = try await engine.accessAudit()

        let opened = try await engine.inbox.exportThread(thread, via: .commandLine)
        #expect(opened.summary.id == thread && opened.summary.field == ImportEngines.field, "\(name)")
        #expect(opened.summary.messageCount == 3 && opened.summary.unreadCount == 3, "\(name)")
        #expect(opened.messages.map(\.id) == ids, "\(name)")
        #expect(opened.messages.map(\.subject) == ["Erste", "Zweite", "Dritte"], "\(name)")
        #expect(opened.messages.map(\.body) == [Array("Eins\r\n".utf8), Array("Zwei".utf8), Array("Drei".utf8)])
        #expect(opened.messages[1].attachments.map(\.name) == ["brief.pdf"], "\(name)")
        #expect(opened.messages[1].attachments.first?.content == [0, 1, 2, 255], "\(name)")
        #expect(opened.messages[2].verdict == .valid && opened.messages[2].signer?.fingerprint
            == ImportEngines.identity(1).key, "\(name)")
        #expect(opened.clientKey == ImportEngines.identity(1).key, "\(name)")
        #expect(opened.clientAddress == ImportEngines.identity(1).address && opened.heldReplies.isEmpty, "\(name)")

        // Audited once, no account, the command line's channel; nothing marked read on either node.
        let exported = "\(AuditEvent.threadExported.rawValue)/-/-/-/\(AuditChannel.commandLine.storedCode)"
        #expect(try await engine.accessAudit() == before + [exported], "\(name)")
        let entry = try #require(try await engine.inboxes[1].inboxThread(thread, scope: .everyField))
        #expect(entry.summary.unreadCount == 3 && entry.firstViewedAt == nil && entry.state == .new, "\(name)")

        // A missing thread: not found, nothing audited.
        await #expect(throws: ThreadStoreError.threadNotFound) {
            try await engine.inbox.exportThread(try ThreadID(String(repeating: "0", count: 32)), via: .commandLine)
        }
        #expect(try await engine.accessAudit() == before + [exported], "\(name)")
    }
}
