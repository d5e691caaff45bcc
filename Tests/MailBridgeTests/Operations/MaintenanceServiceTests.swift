import Foundation
import Logging
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// The gateway applies `[retention]`: threads past their field's days are crypto-shredded, others stay.
@Suite struct MaintenanceServiceTests {
    @Test func retentionFromTheConfigurationDeletesOnlyExpiredThreads() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.clock = { start }
        let store = try ThreadStore(at: URL(fileURLWithPath: folder.path + "/threads.sqlite"),
                                    masterKey: .generate(), configuration: storeConfiguration)
        defer { try? store.close() }

        func thread(_ field: String, _ number: Int) async throws -> ThreadID {
            let identity = ClientIdentity(
                field: try CounsellingField(field),
                key: try ClientKeyFingerprint(String(repeating: "\(number)", count: 40)),
                address: try ClientAddress("client\(number)@example.net"))
            let message = NewMessage(direction: .inbound, messageID: "<\(number)@example.net>", subject: "s",
                                     body: Array("text \(number)".utf8), verdict: .valid, receivedAt: start)
            let outcome = try await store.write { tx in try tx.importMessage(message, into: .client(identity)) }
            guard case .stored(let id, _, _) = outcome else { throw CancellationError() }
            return id
        }
        let general = try await thread("allgemein", 1)
        let long = try await thread("schwangerschaft", 2)

        let retention = BridgeConfiguration.Retention(defaultDays: 180, fieldDays: ["schwangerschaft": 365])
        let logs = LogCapture()
        let early = try MaintenanceService(store: store, retention: retention, sessionIdleTimeout: 1800,
                                           logger: logs.logger(), now: { start + 179 * 86_400 })
        #expect(await early.runOnce()?.deletedThreads == 0)
        let late = try MaintenanceService(store: store, retention: retention, sessionIdleTimeout: 1800,
                                          logger: logs.logger(), now: { start + 200 * 86_400 })
        #expect(await late.runOnce()?.deletedThreads == 1)
        #expect(try await store.read { tx in try tx.thread(general) } == nil)
        #expect(try await store.read { tx in try tx.thread(long) } != nil)
        #expect(try await store.read { tx in try tx.auditEntries() }.contains {
            $0.event == .threadDeletedByRetention && $0.thread == general
        })
        #expect(logs.all.contains { $0.contains("retention.threads") })
        #expect(!logs.all.contains { $0.contains("client1@example.net") || $0.contains("text 1") })
    }

    @Test func unknownRetentionFieldNameIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try ThreadStore(at: URL(fileURLWithPath: folder.path + "/threads.sqlite"), masterKey: .generate())
        defer { try? store.close() }
        #expect(throws: (any Error).self) {
            _ = try MaintenanceService(store: store, retention: .init(fieldDays: ["Not A Field!": 3]),
                                       sessionIdleTimeout: 60, logger: Logger(label: "test"))
        }
    }
}
