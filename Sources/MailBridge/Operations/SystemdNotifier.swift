// Security: sends fixed state strings to the service manager's socket named by $NOTIFY_SOCKET. Reads no
// untrusted input. STATUS= texts are shown by `systemctl status` to anyone on the machine, so callers must pass
// counts and states only, never addresses or subjects.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `sd_notify(3)` protocol, implemented natively (no libsystemd): one datagram of newline-separated
/// `KEY=VALUE` assignments to the AF_UNIX socket in `$NOTIFY_SOCKET`, whose name may start with `@` for the
/// Linux abstract namespace.
///
/// ```swift
/// let notifier = SystemdNotifier()                     // reads the process environment
/// try notifier.notify(.ready, .status("listening"))    // Type=notify readiness
/// if let interval = notifier.watchdogPingInterval { … try notifier.notify(.watchdog) every `interval` … }
/// try notifier.notify(.stopping)
/// ```
///
/// Without `$NOTIFY_SOCKET` (not started by systemd) every call does nothing.
public struct SystemdNotifier: Sendable {
    /// One assignment in a notification (see `sd_notify(3)`).
    public enum State: Sendable, Equatable {
        /// `READY=1`: start-up finished (for `Type=notify`).
        case ready
        /// `RELOADING=1`: re-reading the configuration (followed by `.ready` when done).
        case reloading
        /// `STOPPING=1`: shutdown began.
        case stopping
        /// `WATCHDOG=1`: still alive (for `WatchdogSec=`).
        case watchdog
        /// `STATUS=…`: a one-line status text; newlines are replaced by spaces. No personal data.
        case status(String)
        /// `EXTEND_TIMEOUT_USEC=…`: start-up needs this much longer than the unit's start timeout allows.
        case extendTimeout(Duration)

        var assignment: String {
            switch self {
            case .ready: "READY=1"
            case .reloading: "RELOADING=1"
            case .stopping: "STOPPING=1"
            case .watchdog: "WATCHDOG=1"
            case .status(let text):
                "STATUS=" + String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 }.prefix(200))
            case .extendTimeout(let duration):
                "EXTEND_TIMEOUT_USEC=\(max(0, duration.components.seconds) * 1_000_000 + 1_000_000)"
            }
        }
    }

    /// The socket name from `$NOTIFY_SOCKET`, or `nil` if notifications are off.
    public let socketName: String?
    /// The watchdog timeout from `$WATCHDOG_USEC`, if the watchdog is on for this process.
    public let watchdogTimeout: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment` (the process environment by
    /// default). A `WATCHDOG_PID` naming another process turns the watchdog off, as in `sd_watchdog_enabled(3)`.
    public init(environment: [String: String]? = nil) {
        let environment = environment ?? Self.processEnvironment()
        let name = environment["NOTIFY_SOCKET"] ?? ""
        self.socketName = name.isEmpty ? nil : name
        var timeout: Duration?
        if let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 {
            if let pidText = environment["WATCHDOG_PID"], let pid = Int32(pidText), pid != getpid() {
                timeout = nil
            } else {
                timeout = .microseconds(Int64(clamping: microseconds))
            }
        }
        self.watchdogTimeout = timeout
    }

    /// Whether notifications go anywhere.
    public var isEnabled: Bool { socketName != nil }

    /// How often to send `WATCHDOG=1`: half the timeout, as `sd_watchdog_enabled(3)` recommends.
    public var watchdogPingInterval: Duration? { watchdogTimeout.map { $0 / 2 } }

    /// Sends all `states` in one datagram. Does nothing when ``isEnabled`` is false.
    public func notify(_ states: State...) throws(SystemdNotifierError) {
        try notify(states)
    }

    /// Sends all `states` in one datagram. Does nothing when ``isEnabled`` is false.
    public func notify(_ states: [State]) throws(SystemdNotifierError) {
        guard let socketName, !states.isEmpty else { return }
        let message = states.map(\.assignment).joined(separator: "\n")
        try Self.send(message, to: socketName)
    }

    static func send(_ message: String, to name: String) throws(SystemdNotifierError) {
        // sd_notify(3): an absolute path, or "@name" for the abstract namespace (leading NUL byte).
        var pathBytes = Array(name.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        guard abstract || pathBytes.first == UInt8(ascii: "/") else { throw SystemdNotifierError(.invalidSocketName) }
        if abstract { pathBytes[0] = 0 }
        var address = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A path needs room for its terminating NUL; an abstract name does not have one.
        guard pathBytes.count + (abstract ? 0 : 1) <= capacity else { throw SystemdNotifierError(.invalidSocketName) }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count + (abstract ? 0 : 1))

        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { throw SystemdNotifierError(.socketFailed, errno: errno) }
        defer { close(fd) }
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    #if canImport(Glibc)
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                    #else
                    sendto(fd, buffer.baseAddress, buffer.count, 0, socketAddress, length)
                    #endif
                }
            }
        }
        guard sent == bytes.count else { throw SystemdNotifierError(.sendFailed, errno: sent < 0 ? errno : 0) }
    }

    private static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let value = getenv(name) { result[name] = String(cString: value) }
        }
        return result
    }
}

/// Why a notification could not be sent.
public struct SystemdNotifierError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// `$NOTIFY_SOCKET` is neither an absolute path nor `@name`, or too long for `sockaddr_un`.
        case invalidSocketName
        /// `socket(2)` failed.
        case socketFailed
        /// `sendto(2)` failed or sent less than the whole datagram.
        case sendFailed
    }

    public var code: Code
    /// `errno` at the failure, 0 if none.
    public var errno: Int32

    public init(_ code: Code, errno: Int32 = 0) {
        self.code = code
        self.errno = errno
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        let reason = errno == 0 ? "" : " (\(String(cString: strerror(errno))))"
        switch code {
        case .invalidSocketName: return "NOTIFY_SOCKET is not an absolute path or @abstract name that fits sockaddr_un"
        case .socketFailed: return "cannot create the notification socket\(reason)"
        case .sendFailed: return "cannot send to NOTIFY_SOCKET\(reason)"
        }
    }
}
