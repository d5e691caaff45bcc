// Security: a Unix stream socket inside the data folder (0700, owned by the daemon's user), so only that user
// can reach it. A connection carries no meaning beyond "look at the outbox now": nothing is read from it, so a
// caller can at most make the queue look early, which the queue does anyway after every commit.

public import Foundation
public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Wakes the daemon's outbound queue from another process: `mailbridge reply` queues a reply in the store, then
/// connects once to `<data>/queue.wake`; the daemon kicks its queue, so the reply reaches the
/// smarthost at once instead of at the queue's next poll. Without a running daemon nothing happens and the reply
/// waits in the outbox for the next start.
///
/// ```swift
/// let wake = try await QueueWakeSocket.bind(dataFolder: data, logger: logger) { queue.kick() }  // the daemon
/// QueueWakeSocket.notify(dataFolder: data)                                              // a command
/// ```
public final class QueueWakeSocket: Service, Sendable {
    /// The socket's file name inside the data folder.
    public static let fileName = "queue.wake"

    private let channel: any Channel

    /// Binds the socket (replacing a stale one left by a killed daemon) and calls `wake` for every connection.
    /// Returns nil, with a log line, when the path is too long for a Unix socket; the queue then relies on its
    /// poll for replies queued by other processes.
    public static func bind(dataFolder: URL, logger: Logger, wake: @escaping @Sendable () -> Void) async throws
        -> QueueWakeSocket?
    {
        let path = dataFolder.appendingPathComponent(fileName).path
        guard path.utf8.count < 100 else {
            logger.warning("""
                data folder path too long for the queue wake socket; replies of other processes wait for the \
                queue's poll
                """)
            return nil
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                // The connection itself is the wake-up: nothing is read, and it is closed at once.
                wake()
                return channel.close()
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        return QueueWakeSocket(channel: channel)
    }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Sends one wake-up to the daemon using `dataFolder`, if one is running. Never fails and never blocks.
    public static func notify(dataFolder: URL) {
        let path = dataFolder.appendingPathComponent(fileName).path
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        // A Unix-socket connect completes at once (or fails at once: no daemon, or its backlog is full, in which
        // case it is awake anyway).
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// Serves until graceful shutdown or cancellation, then closes the socket.
    public func run() async throws {
        await serveUntilShutdown(channel)
    }
}
