// The memory check of ThreadStoreTests' StoreMemoryReleaseTests, in a process of its own: resident size is a
// property of the whole process, and in the test process other suites allocate and free at the same time (CI once
// measured 30.5 MiB freed of 71.4 MiB grown that way). Here nothing else runs.

import Foundation
import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

enum MemoryBurst {
    /// Writes 48 MiB of incompressible outbox payloads through the writer, reads them back through a reader, then
    /// releases the store's caches; prints `memory <idle> <after the burst> <after the release> <items>` (KiB, and
    /// the items the store still reads afterwards) and exits 0, or prints the error and exits 1.
    static func run(folder: String) async -> Never {
        await HelperReport.run("memory burst") {
            let store = try ThreadStore(at: URL(filePath: folder + "/threads.sqlite"), masterKey: .generate())
            trim()
            let idle = HelperReport.statusKiB("VmRSS")
            let random = try FileHandle(forReadingFrom: URL(filePath: "/dev/urandom"))
            for _ in 0..<12 {
                let payload = [UInt8](try random.read(upToCount: 4 << 20) ?? Data())
                _ = try await store.write { tx in
                    try tx.enqueueOutbox(NewOutboxItem(thread: nil, kind: .redirectReply,
                                                       recipient: try ClientAddress("client@example.net"),
                                                       payload: payload, notBefore: Date()))
                }
            }
            try random.close()
            _ = try await store.read { try $0.dueOutboxItems(now: Date(), limit: 20) }.count
            trim()
            let before = HelperReport.statusKiB("VmRSS")
            store.releaseMemory()
            trim()
            let after = HelperReport.statusKiB("VmRSS")
            // The store still works: readers open again on demand.
            let items = try await store.read { try $0.dueOutboxItems(now: Date(), limit: 20) }.count
            try store.close()
            return "memory \(idle) \(before) \(after) \(items)"
        }
    }

    private static func trim() {
        // malloc_trim(3) is not in Swift's Glibc module; found as ProcessMemory.returnFreedMemory() finds it.
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        typealias MallocTrim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }
}
