public import Foundation
public import NIOCore
import NIOPosix

/// A temporary spool file that DATA streams into with bounded memory (at most ``flushThreshold`` octets are held
/// before they are written). Blocking writes and fsync run on `NIOThreadPool.singleton`, off the event loops.
///
/// Security: holds untrusted message content; created 0600 with O_EXCL. An unfinished file is deleted on
/// ``discard()`` or `deinit`, so a failed transaction leaves nothing behind.
public final class SpoolFile {
    /// Octets buffered in memory before a write.
    public static let flushThreshold = 64 * 1024

    public let queueID: QueueID
    public let url: URL
    /// Octets appended so far.
    public private(set) var size = 0
    private var fd: CInt
    private var pending = ByteBuffer()
    private var isFinished = false

    init(queueID: QueueID, url: URL) throws(SpoolError) {
        self.queueID = queueID
        self.url = url
        self.fd = try POSIXFile.create(url.path)
    }

    deinit {
        if fd >= 0 { POSIXFile.closeFile(fd) }
        if !isFinished { try? POSIXFile.remove(url.path) }
    }

    /// Appends message octets.
    public func append(_ bytes: ByteBuffer) async throws {
        precondition(!isFinished && fd >= 0, "append after finish/discard")
        size += bytes.readableBytes
        pending.writeImmutableBuffer(bytes)
        if pending.readableBytes >= Self.flushThreshold { try await flush() }
    }

    /// Writes what is buffered, fsyncs and closes the file. Afterwards the file is complete and durable; it stays
    /// in the temporary folder until ``MessageIntake/accept(_:)`` moves it.
    public func finish() async throws {
        try await flush()
        let fd = self.fd
        try await NIOThreadPool.singleton.runIfActive { try POSIXFile.sync(fd) }
        POSIXFile.closeFile(fd)
        self.fd = -1
        isFinished = true
    }

    /// Closes and deletes the file (failed or rejected transaction, or after a failed intake).
    public func discard() {
        if fd >= 0 { POSIXFile.closeFile(fd) }
        fd = -1
        try? POSIXFile.remove(url.path)
        isFinished = true
    }

    private func flush() async throws {
        guard pending.readableBytes > 0 else { return }
        let chunk = pending
        pending.clear()
        let fd = self.fd
        try await NIOThreadPool.singleton.runIfActive {
            try chunk.withUnsafeReadableBytes { try POSIXFile.writeAll(fd, $0) }
        }
    }
}

@available(*, unavailable)
extension SpoolFile: Sendable {}
