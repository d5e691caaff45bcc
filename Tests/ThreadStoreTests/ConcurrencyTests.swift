import Foundation
import Synchronization
import Testing
@testable import ThreadStore

private final class Progress: Sendable {
    let writerDone = Atomic<Bool>(false)
    let readsDuringWrites = Atomic<Int>(0)
}

@Suite struct ConcurrencyTests {
    @Test func readersSeeConsistentSnapshotsWhileAWriterImports() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let clients = 8
        let perClient = 25
        let progress = Progress()

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for index in 0..<(clients * perClient) {
                    let date = Date(timeIntervalSince1970: 1_800_000_000 + Double(index))
                    _ = try await store.write { tx in
                        try tx.importMessage(
                            Sample.message("cc-\(index)", at: date),
                            into: .client(Sample.identity(index % clients + 1))
                        )
                    }
                }
                progress.writerDone.store(true, ordering: .releasing)
            }
            for _ in 0..<4 {
                group.addTask {
                    var lastTotal = 0
                    while !progress.writerDone.load(ordering: .acquiring) {
                        let (total, consistent) = try await store.read { tx in
                            let page = try tx.listThreads(field: Sample.field, limit: 50)
                            var consistent = true
                            for summary in page {
                                // Within one snapshot, the summary and the opened thread agree.
                                let opened = try tx.openThread(summary.id)
                                consistent =
                                    consistent && opened.messages.count == summary.messageCount
                                    && summary.unreadCount == summary.messageCount
                            }
                            return (page.reduce(0) { $0 + $1.messageCount }, consistent)
                        }
                        #expect(consistent)
                        #expect(total >= lastTotal, "a later snapshot lost messages")
                        lastTotal = total
                        progress.readsDuringWrites.add(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(progress.readsDuringWrites.load(ordering: .relaxed) > 0)
        let page = try await store.read { tx in try tx.listThreads(field: Sample.field) }
        #expect(page.count == clients)
        #expect(page.allSatisfy { $0.messageCount == perClient })
    }
}
