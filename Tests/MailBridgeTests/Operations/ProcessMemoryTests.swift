import Foundation
import MailBridge
import Testing

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
}
