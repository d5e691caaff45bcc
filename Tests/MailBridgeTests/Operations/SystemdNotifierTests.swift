import Foundation
import Testing

@testable import MailBridge

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket playing the service manager: bound to a path or an abstract name, reads one datagram with a
/// two-second timeout.
final class NotifySocket: @unchecked Sendable {
    let fd: Int32
    let name: String

    init(name: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        self.name = name
        var bytes = Array(name.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram, or `nil` after the timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    deinit { close(fd) }
}

@Suite struct SystemdNotifierTests {
    @Test func sendsReadyStatusWatchdogAndStoppingToAPathSocket() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let socket = try NotifySocket(name: folder.path + "/notify")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name])
        #expect(notifier.isEnabled)

        try notifier.notify(.ready, .status("listening on 127.0.0.1:2525"))
        #expect(socket.receive() == "READY=1\nSTATUS=listening on 127.0.0.1:2525")
        try notifier.notify(.watchdog)
        #expect(socket.receive() == "WATCHDOG=1")
        try notifier.notify(.reloading)
        #expect(socket.receive() == "RELOADING=1")
        try notifier.notify(.stopping, .status("line one\nline two"))
        #expect(socket.receive() == "STOPPING=1\nSTATUS=line one line two")
        // A start that waits (a node-id's earlier holder): the timeout extended by the wait and a second.
        try notifier.notify(.extendTimeout(.milliseconds(61_500)))
        #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=62000000")
    }

    @Test func sendsToAnAbstractNamespaceSocket() throws {
        let name = "@mailbridge-test-\(UUID().uuidString)"
        let socket = try NotifySocket(name: name)
        try SystemdNotifier(environment: ["NOTIFY_SOCKET": name]).notify(.ready)
        #expect(socket.receive() == "READY=1")
    }

    @Test func withoutNotifySocketNothingIsSent() throws {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        try notifier.notify(.ready)  // no socket, no error
        #expect(notifier.watchdogPingInterval == nil)
    }

    @Test func missingSocketAndBadNamesAreErrors() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        #expect(throws: SystemdNotifierError(.sendFailed)) {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": folder.path + "/nobody"]).notify(.ready)
        }
        #expect(throws: SystemdNotifierError(.invalidSocketName)) {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/socket"]).notify(.ready)
        }
        #expect(throws: SystemdNotifierError(.invalidSocketName)) {
            try SystemdNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 120)]).notify(.ready)
        }
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"])
        #expect(notifier.watchdogTimeout == .seconds(30))
        #expect(notifier.watchdogPingInterval == .seconds(15))
        let ours = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "\(getpid())"])
        #expect(ours.watchdogTimeout == .seconds(1))
        let other = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "\(getpid() + 1)"])
        #expect(other.watchdogTimeout == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"]).watchdogTimeout == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "soon"]).watchdogTimeout == nil)
    }
}

@Suite struct SystemdWatchdogServiceTests {
    @Test func pingsAtHalfTheIntervalUntilCancelled() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let socket = try NotifySocket(name: folder.path + "/notify")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name, "WATCHDOG_USEC": "200000"])
        let service = SystemdWatchdogService(notifier: notifier)
        let task = Task { try await service.run() }
        let start = ContinuousClock.now
        // The blocking receive runs on its own thread, never on Swift's cooperative pool (2 threads here).
        func receive() async -> String? {
            await withCheckedContinuation { continuation in
                Thread { continuation.resume(returning: socket.receive()) }.start()
            }
        }
        #expect(await receive() == "WATCHDOG=1")
        #expect(await receive() == "WATCHDOG=1")
        #expect(await receive() == "WATCHDOG=1")
        let elapsed = ContinuousClock.now - start
        // Three pings at 100 ms intervals: the first at once, then two waits (generous upper bound for load).
        #expect(elapsed >= .milliseconds(150) && elapsed < .seconds(10), "\(elapsed)")
        task.cancel()
        try await task.value
    }
}
