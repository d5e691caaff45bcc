import Foundation
import Testing
@testable import ThreadStore

@Suite struct AccessAuditTests {
    @Test func counsellorActionsAreAuditedWithTheirActor() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let actor = AccountID.random()
        try await store.write { tx in
            try tx.recordAccess(.loginSucceeded, actor: actor)
            try tx.recordAccess(.attachmentDownloaded, actor: actor, itemID: "0123456789abcdef0123456789abcdef",
                                count: 2)
        }
        let entries = try await store.read { tx in try tx.auditEntries() }
        #expect(entries.map(\.event) == [.loginSucceeded, .attachmentDownloaded])
        #expect(entries.allSatisfy { $0.actor == actor })
        #expect(entries[1].count == 2)
        #expect(entries[0].description.contains(actor.unredactedDescription) == false)
    }

    @Test func inboundEventsCannotBeRecordedAsAccess() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        for event in [AuditEvent.inboundRedirected, .messageStored, .outboxDelivered] {
            await #expect(throws: ThreadStoreError(.invalidValue)) {
                try await store.write { tx in try tx.recordAccess(event, actor: nil) }
            }
        }
        #expect(try await store.read { tx in try tx.auditEntries() }.isEmpty)
    }
}
