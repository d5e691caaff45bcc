import Foundation
@testable import MailBridge
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The daemon keeps its descriptors below select(2)'s 1024 (libetpan aborts on a higher one): `serve` lowers the
/// soft limit, and `[smtp] max-connections` cannot ask for more sessions than fit beside everything else.
@Suite(.serialized) struct DescriptorLimitTests {
    /// With a soft limit above 1024, the cap lowers it, and then no descriptor of 1024 or more is handed out:
    /// opening files until the limit ends with `EMFILE` at descriptors below 1024. The previous limit is restored.
    @Test func theCapKeepsEveryDescriptorBelowSelectsLimit() throws {
        var saved = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) == 0)
        defer { _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &saved) }
        if saved.rlim_max == rlim_t.max || saved.rlim_max > 1024 {
            var raised = saved
            raised.rlim_cur = saved.rlim_max == rlim_t.max ? 4096 : min(saved.rlim_max, 4096)
            try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0)
            #expect(DescriptorLimit.current == Int(raised.rlim_cur))
        }
        #expect(DescriptorLimit.capForSelect() == 1024 || saved.rlim_max < 1024)
        #expect(DescriptorLimit.current.map { $0 <= DescriptorLimit.selectLimit } == true)
        var opened: [Int32] = []
        defer { for descriptor in opened { close(descriptor) } }
        var lastError: Int32 = 0
        while opened.count < 4096 {
            let descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { lastError = errno; break }
            opened.append(descriptor)
        }
        #expect(lastError == EMFILE, "errno \(lastError) after \(opened.count) descriptors")
        #expect(opened.max().map { $0 < 1024 } == true, "highest descriptor \(opened.max() ?? -1)")
        // A limit already at or below 1024 is left alone.
        for descriptor in opened { close(descriptor) }
        opened = []
        var low = rlimit()
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &low)
        low.rlim_cur = 512
        try #require(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &low) == 0)
        #expect(DescriptorLimit.capForSelect() == 512)
    }

    /// `max-connections` above 768 (1024 less the 256 kept for everything else) is refused by name.
    @Test func maxConnectionsMustLeaveDescriptorsForTheRest() throws {
        let base = ConfigurationErrorTests.mailbox + "[smtp]\n"
        #expect(try BridgeConfiguration.parse(base + "max-connections = 768\n").smtp.maxConnections == 768)
        #expect(throws: (any Error).self) { try BridgeConfiguration.parse(base + "max-connections = 769\n") }
        do {
            _ = try BridgeConfiguration.parse(base + "max-connections = 1000\n")
        } catch {
            #expect(error.allErrors.contains { $0.option == "smtp.max-connections" }, "\(error)")
        }
    }
}
