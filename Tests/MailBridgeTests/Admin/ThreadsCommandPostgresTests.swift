import Foundation
@testable import MailBridge
import TestSupport
import Testing
import ThreadStore

/// Issue 21: `mailbridge threads list` and `thread show` on a PostgreSQL store (before: "not available yet").
@Suite(.serialized) struct ThreadsCommandPostgresTests {
    @Test(.timeLimit(.minutes(2))) func listAndShowReadTheSharedDatabase() async throws {
        let setUp = try await SharedGatewayKeysTests.TwoNodes()
        defer { setUp.remove() }
        let installation = try await OpenedInstallation.open(setUp.a, logger: setUp.logs.logger("a"))
        let (thread, _) = try await MasterKeyRotationPostgresTests().fill(installation)

        let listed = try await ThreadsAdmin.list(installation, field: nil, json: false).output
        #expect(listed.hasPrefix(thread.unredactedDescription + "  allgemein  open  messages: 1  unread: 1"),
                "\(listed)")
        #expect(!listed.contains(MasterKeyRotationPostgresTests.canary))
        let shown = try await ThreadsAdmin.show(installation, id: thread.unredactedDescription, json: false).output
        #expect(shown.contains("  | Hallo \(MasterKeyRotationPostgresTests.canary)"), "\(shown)")
        #expect(shown.contains("client: klientin@example.org"), "\(shown)")
        let exported = try await installation.stores.audit.latestAuditEntries(AuditFilter(thread: thread), limit: 10)
        #expect(exported.filter { $0.event == .threadExported && $0.actor == nil }.count == 1)
        await #expect(throws: ThreadStoreError.threadNotFound) {
            _ = try await ThreadsAdmin.show(installation, id: String(repeating: "0", count: 32), json: false)
        }
        await installation.close()
    }
}
