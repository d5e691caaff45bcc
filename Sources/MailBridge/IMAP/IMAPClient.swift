import Foundation
import NIOPosix

/// Runs an ``IMAPConnection``'s blocking libetpan calls on its own one-thread `NIOThreadPool` (never on an event
/// loop, the cooperative pool or the shared `NIOThreadPool.singleton`, whose threads the spool's fsyncs and gpgme
/// need: an IMAP read may block for the whole network timeout), one at a time: every call takes `lock` on the pool thread, so the `mailimap*` handle is
/// never used by two threads at once even if a caller misbehaves. That lock is what makes the
/// `@unchecked Sendable` sound.
final class IMAPClient: @unchecked Sendable {
    private let connection: IMAPConnection
    private let lock = NSLock()
    private let pool: NIOThreadPool

    private init(connection: IMAPConnection, pool: NIOThreadPool) {
        self.connection = connection
        self.pool = pool
    }

    /// Connects with TLS and verifies the server; throws unless verified. Starts the client's thread.
    static func connect(_ settings: IMAPConnectionSettings) async throws -> IMAPClient {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let box: ConnectionBox
        do {
            box = try await pool.runIfActive { () throws -> ConnectionBox in
            let connection = try IMAPConnection(settings: settings)
            do {
                try connection.connect()
            } catch {
                connection.disconnect()
                throw error
            }
            return ConnectionBox(connection: connection)
            }
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
        return IMAPClient(connection: box.connection, pool: pool)
    }

    /// Runs `body` with the connection on the thread pool.
    func perform<T: Sendable>(_ body: @escaping @Sendable (IMAPConnection) throws -> T) async throws -> T {
        try await pool.runIfActive { [self] in
            try lock.withLock { try body(connection) }
        }
    }

    /// LOGOUT, on the pool; the handle is freed when the client is released.
    func close() async {
        _ = try? await perform { $0.logout() }
        try? await pool.shutdownGracefully()
    }

    /// Drops the connection without a command (after any error, a malformed response included).
    func abort() async {
        _ = try? await perform { $0.disconnect() }
        try? await pool.shutdownGracefully()
    }
}

/// Hands a freshly connected ``IMAPConnection`` from the pool thread to the ``IMAPClient`` (nobody else holds it).
private struct ConnectionBox: @unchecked Sendable {
    let connection: IMAPConnection
}
