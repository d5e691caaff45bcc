import Foundation
import MailBridge
import Testing
import ThreadStore

/// Issue 18 (5): memory freed after a burst goes back to the kernel. Small blocks (below the mmap threshold)
/// freed in the middle of the heap stay resident (glibc trims only the top on its own); `returnFreedMemory()`
/// releases their pages.
@Suite(.serialized) struct ProcessMemoryTests {
    private func residentKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    @Test func freedHeapPagesAreReturnedAfterALargeMessage() {
        // 96 MiB in 1 KiB blocks; every 64th stays allocated, so the freed space sits between live blocks.
        let count = 96 * 1024
        var blocks: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(count)
        for _ in 0..<count {
            let block = UnsafeMutableRawPointer.allocate(byteCount: 1024, alignment: 16)
            block.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 1024)
            blocks.append(block)
        }
        var kept: [UnsafeMutableRawPointer] = []
        for (index, block) in blocks.enumerated() {
            if index % 64 == 0 { kept.append(block) } else { block.deallocate() }
        }
        blocks = []
        let beforeTrim = residentKiB()
        #expect(ProcessMemory.returnFreedMemory())
        let afterTrim = residentKiB()
        #expect(beforeTrim - afterTrim > 48 * 1024, "resident \(beforeTrim) KiB before, \(afterTrim) KiB after")
        for block in kept { block.deallocate() }
    }

    /// What stayed after a burst of encrypted mail (bench-rss, 3.2 × idle): SQLite's page caches full of sealed
    /// payloads. The store's release empties them; the trim then gives their pages back.
    @Test func theStoresCachesAreReturnedAfterALargeMessage() async throws {
        let folder = "/tmp/mb-memory-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try ThreadStore(at: URL(fileURLWithPath: folder + "/threads.sqlite"), masterKey: .generate())
        defer { try? store.close() }
        ProcessMemory.returnFreedMemory()
        let idle = residentKiB()
        // 48 MiB of incompressible payload through the writer, then read back through a reader.
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        for _ in 0..<12 {
            let payload = [UInt8](try #require(try random.read(upToCount: 4 << 20)))
            _ = try await store.write { tx in
                try tx.enqueueOutbox(NewOutboxItem(thread: nil, kind: .redirectReply,
                                                   recipient: try ClientAddress("client@example.net"),
                                                   payload: payload, notBefore: Date()))
            }
        }
        #expect(try await store.read { try $0.dueOutboxItems(now: Date(), limit: 20) }.count == 12)
        ProcessMemory.returnFreedMemory()
        let before = residentKiB()
        store.releaseMemory()
        #expect(ProcessMemory.returnFreedMemory())
        let after = residentKiB()
        // What the burst added must mostly go again; an absolute bound would depend on what earlier tests left in
        // the heap (CI once measured 22.7 MiB freed against a 24 MiB bound).
        let grown = before - idle, freed = before - after
        print("memory: idle \(idle) KiB, after the burst \(before) KiB, after the release \(after) KiB")
        #expect(grown > 24 * 1024, "the burst added only \(grown) KiB")
        #expect(freed * 2 > grown, "resident \(idle) KiB idle, \(before) KiB after the burst, \(after) KiB after the release")
        // The store still works: readers open again on demand.
        #expect(try await store.read { try $0.dueOutboxItems(now: Date(), limit: 20) }.count == 12)
    }
}
