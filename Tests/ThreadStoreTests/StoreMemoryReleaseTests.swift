import Foundation
import Testing

/// Issue 18 (5): what stayed after a burst of encrypted mail (bench-rss, 3.2 × idle) was SQLite's page caches full
/// of sealed payloads. The store's release empties them; the trim then gives their pages back. Resident size is
/// measured in a child process (`ThreadStoreCrashHelper --memory-burst`), where no other suite allocates at the
/// same time.
@Suite struct StoreMemoryReleaseTests {
    @Test func theStoresCachesAreReturnedAfterALargeMessage() throws {
        let figures = try CrashSafetyTests.measure(["--memory-burst"], report: "memory").compactMap { Int($0) }
        try #require(figures.count == 4)
        let (idle, before, after, items) = (figures[0], figures[1], figures[2], figures[3])
        print("memory: idle \(idle) KiB, after the burst \(before) KiB, after the release \(after) KiB")
        // 48 MiB went through the writer's and a reader's caches (64 MiB and 8 MiB at most).
        let grown = before - idle, freed = before - after
        #expect(grown > 24 * 1024, "the burst added only \(grown) KiB")
        #expect(freed * 2 > grown, "resident \(idle) KiB idle, \(before) KiB after the burst, \(after) KiB after")
        #expect(items == 12)
    }
}
