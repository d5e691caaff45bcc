public import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A listener that could not bind its address, named with the address and what to do (issue 22: a port already
/// in use names the listener, not only `bind(descriptor:ptr:bytes:)` and an errno).
///
/// ```swift
/// let listener = try await BindFailure.naming("SMTP listener", host: host, port: port) {
///     try await SMTPListener.bind(host: host, port: port, …)
/// }
/// ```
public struct BindFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public let listener: String
    public let host: String
    public let port: Int
    public let errno: Int32

    public var description: String {
        let why = switch errno {
        case EADDRINUSE: "the address is already in use (another server, or MailBridge running already?)"
        case EACCES: "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE, which the unit grants)"
        case EADDRNOTAVAIL: "this machine has no such address (check `listen` in the configuration)"
        default: String(cString: strerror(errno))
        }
        return "the \(listener) cannot listen on \(host):\(port): \(why)"
    }

    /// Runs `body`; an error binding a socket becomes a ``BindFailure`` naming `listener` and its address.
    public static func naming<T>(_ listener: String, host: String, port: Int,
                                 _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as IOError where [EADDRINUSE, EACCES, EADDRNOTAVAIL].contains(error.errnoCode) {
            throw BindFailure(listener: listener, host: host, port: port, errno: error.errnoCode)
        }
    }
}
