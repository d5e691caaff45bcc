import Foundation
import Logging
import Testing
import ThreadStore

@testable import MailBridge

/// `mailbridge_threads_waiting{over_hours="N"}`: threads (not closed) whose oldest unanswered message has waited
/// longer than N hours, counted from the store's index on a real SQLite file.
@Suite struct WaitingMetricsTests {
    @Test func theGaugeCountsThreadsOverEachThreshold() async throws {
        let folder = URL(fileURLWithPath: "/tmp/mb-wait-\(UUID().uuidString.prefix(10))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"), masterKey: .generate())
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        let field = try CounsellingField("sucht")
        // Waiting 2, 30, 60 and 100 hours; one answered thread 200 hours old; one closed thread 80 hours.
        try await store.write { tx in
            for (number, hours) in [2, 30, 60, 100, 200, 80].enumerated() {
                let identity = ClientIdentity(field: field,
                                              key: try ClientKeyFingerprint(String(format: "%040X", 0xAB00 + number)),
                                              address: try ClientAddress("c\(number)@example.net"))
                let message = NewMessage(direction: .inbound, messageID: "<m\(number)@example.net>", subject: "s",
                                         body: Array("b".utf8), verdict: .valid,
                                         receivedAt: now.addingTimeInterval(-Double(hours) * 3600))
                guard case .stored(let thread, _, _) = try tx.importMessage(message, into: .client(identity)) else {
                    throw ThreadStoreError.invalidValue
                }
                if hours == 200 {
                    _ = try tx.importMessage(NewMessage(direction: .outbound, messageID: "<r@example.org>",
                                                        subject: "r", body: Array("r".utf8), verdict: .notApplicable,
                                                        receivedAt: now.addingTimeInterval(-3600)),
                                             into: .thread(thread))
                }
                if hours == 80 { try tx.setState(.closed, of: thread) }
            }
        }
        let metrics = GatewayMetrics()
        let monitor = WaitingThreadsMonitor(gauges: ThreadStoreGauges(store), metrics: metrics,
                                            thresholdsHours: [24, 48, 96],
                                            logger: .init(label: "test"), now: { now })
        #expect(await monitor.refresh() == [3, 2, 1])
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        for (hours, count) in [(24, 3), (48, 2), (96, 1)] {
            let prefix = "mailbridge_threads_waiting{over_hours=\"\(hours)\"}"
            let line = text.split(separator: "\n").first { $0.hasPrefix(prefix) }
            let value = try #require(line?.split(separator: " ").last)
            #expect(Double(value) == Double(count), "\(text)")
        }
        try store.close()
    }

    /// Issue 29: with organisations each series carries its organisation, and counts only its fields' threads;
    /// the organisation label is an ID from the configuration, nothing else.
    @Test func withOrganisationsEachOrganisationHasItsOwnSeries() async throws {
        let folder = URL(fileURLWithPath: "/tmp/mb-wait-org-\(UUID().uuidString.prefix(10))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"), masterKey: .generate())
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        // Two threads of "sucht" (org-a), one of "familie" (org-b), one of "alt" (no organisation), all 30 h old.
        try await store.write { tx in
            for (number, field) in ["sucht", "sucht", "familie", "alt"].enumerated() {
                let identity = ClientIdentity(field: try CounsellingField(field),
                                              key: try ClientKeyFingerprint(String(format: "%040X", 0xCD00 + number)),
                                              address: try ClientAddress("c\(number)@example.net"))
                _ = try tx.importMessage(NewMessage(direction: .inbound, messageID: "<w\(number)@example.net>",
                                                    subject: "s", body: Array("b".utf8), verdict: .valid,
                                                    receivedAt: now.addingTimeInterval(-30 * 3600)),
                                         into: .client(identity))
            }
        }
        let (a, b) = (try OrganisationID("org-a"), try OrganisationID("org-b"))
        let link = try RedirectLink("https://beratung.example/login")
        var sucht = BridgeConfiguration.Mailbox(address: try EmailAddress("s@example.org"), field: "sucht",
                                                teamNotificationAddress: try EmailAddress("ta@example.org"),
                                                redirectLink: link)
        sucht.organisation = a
        var familie = BridgeConfiguration.Mailbox(address: try EmailAddress("f@example.org"), field: "familie",
                                                  teamNotificationAddress: try EmailAddress("tb@example.org"),
                                                  redirectLink: link)
        familie.organisation = b
        let directory = OrganisationDirectory(organisations: [.init(id: a, name: "A"), .init(id: b, name: "B")],
                                              mailboxes: [sucht, familie])
        let metrics = GatewayMetrics()
        let monitor = WaitingThreadsMonitor(gauges: ThreadStoreGauges(store), metrics: metrics,
                                            thresholdsHours: [24, 48], logger: .init(label: "test"),
                                            organisations: directory, now: { now })
        #expect(await monitor.refresh() == [3, 0])
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        for (organisation, hours, count) in [("org-a", 24, 2), ("org-b", 24, 1), ("org-a", 48, 0), ("org-b", 48, 0)] {
            let prefix = "mailbridge_threads_waiting{organisation=\"\(organisation)\",over_hours=\"\(hours)\"}"
            let line = text.split(separator: "\n").first { $0.hasPrefix(prefix) }
            let value = try #require(line?.split(separator: " ").last, "\(text)")
            #expect(Double(value) == Double(count), "\(text)")
        }
        #expect(!text.contains("mailbridge_threads_waiting{over_hours"), "no series without its organisation")
        try store.close()
    }
}
