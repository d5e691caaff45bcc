import Foundation
import MailBridge
import Testing

/// Issue 23: the idle daemon gives back the code only start-up ran (`ProcessMemory.pageOutCode()`), and
/// caps malloc's arenas. Measured on this test process: its executable is the test bundle.
@Suite(.serialized) struct ProcessMemoryIdleTests {
    /// Resident KiB and anonymous KiB of the executable's mappings without write permission (/proc/self/smaps).
    private func executableCode() -> (resident: Int, anonymous: Int) {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let smaps = (try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8)) ?? ""
        var inCode = false
        var resident = 0
        var anonymous = 0
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                inCode = fields.count >= 6 && fields[5...].joined(separator: " ") == executable
                    && !fields[1].contains("w")
            } else if inCode, fields.count >= 2, let kib = Int(fields[1]) {
                if fields[0] == "Rss:" { resident += kib }
                if fields[0] == "Anonymous:" { anonymous += kib }
            }
        }
        return (resident, anonymous)
    }

    @Test func codeGoesBackToTheKernelAndRunsAgainWhenCalled() {
        let before = executableCode()
        #expect(before.resident > 1024, "the test bundle's code should be resident: \(before.resident) KiB")
        let advised = ProcessMemory.pageOutCode()
        #expect(advised > 0)
        let after = executableCode()
        // Clean code pages are gone; relocated (anonymous) pages stay (no swap), so at most those remain.
        #expect(after.resident < before.resident / 2,
                "resident code \(before.resident) KiB before, \(after.resident) KiB after")
        // The measurement above already ran code from released pages (read back from the page cache or the file).
    }

    @Test func arenasAreCapped() {
        #expect(ProcessMemory.limitArenas(cores: 2))
    }
}
