// Security: the IMAP fetcher takes mail from an existing hosted mailbox (issue 9). Untrusted input: everything
// the IMAP server sends (parsed by libetpan, IMAPConnection) and the messages themselves, which are only
// written to the spool, never parsed here except for the Return-Path header. Credentials are read from the
// password file per connection and sent only after TLS is up and the server certificate chain and host name
// verified (IMAPCertificateVerifier). Logs name the source by its index and UIDs and counts only: no address,
// user name, folder name or content.

import Foundation
public import Logging
import NIOCore
import NIOPosix
public import ServiceLifecycle

/// Fetches mail from the configured `[[imap]]` sources into the spool, as a `Service`.
///
/// Exactly-once: a message is written to the spool through the same durable intake as SMTP
/// (``SpoolIntake/accept(_:)``: fsynced, renamed, folder fsynced) and only AFTER that returns is it moved or
/// deleted on the server. A crash (or a failed MOVE/EXPUNGE) between the two leaves it on the server and the
/// next cycle fetches it again, so the spool may hold the same message twice; the pipeline then stores it once
/// and reports the second as `.duplicate` (the ThreadStore's idempotency on Message-ID and content). Messages are
/// never lost: the server copy goes only after the spool copy is durable.
public final class IMAPFetcher: Service, Sendable {
    /// One source with the connection details the fetcher needs.
    public struct Source: Sendable {
        public var configuration: BridgeConfiguration.IMAPSource
        /// PEM trust anchors for this server; nil uses the system store. Defaults to the source's `ca-file`.
        public var caFile: String?
        /// The name the certificate must match; nil means `configuration.host`.
        public var verifyHostName: String?

        public init(_ configuration: BridgeConfiguration.IMAPSource, caFile: String? = nil,
                    verifyHostName: String? = nil) {
            self.configuration = configuration
            self.caFile = caFile ?? configuration.caFile?.string
            self.verifyHostName = verifyHostName
        }
    }

    /// Limits and timing.
    public struct Limits: Sendable {
        /// Messages fetched per source and cycle (the oldest UIDs first).
        public var messagesPerCycle = 50
        /// Larger messages (RFC822.SIZE) stay on the server and are logged by UID.
        public var maximumMessageSize = 25 * 1024 * 1024
        public var pollInterval: Duration = .seconds(60)
        /// Wait in IMAP IDLE (RFC 2177) instead of sleeping when the server offers it: new mail starts the next
        /// cycle at once; `pollInterval` bounds each IDLE.
        public var useIDLE = true
        /// Back-off after a failed cycle: doubles from `initialBackoff` up to `maximumBackoff`.
        public var initialBackoff: Duration = .seconds(5)
        public var maximumBackoff: Duration = .seconds(15 * 60)
        public var timeoutSeconds = 60

        public init() {}
    }

    /// The result of one cycle for one source.
    public struct CycleReport: Sendable, Equatable {
        /// Spooled and then marked on the server.
        public var imported: [UInt32] = []
        /// Spooled, but the server mark was skipped or failed (will be fetched again).
        public var spooledOnly: [UInt32] = []
        /// Left on the server because they exceed the size limit.
        public var tooLarge: [UInt32] = []
        /// The cycle ended in IDLE (so the poll interval has already passed, or new mail woke it).
        public var idled = false
    }

    let sources: [Source]
    let spool: SpoolIntake
    let intake: any MessageIntake
    let limits: Limits
    let logger: Logger
    /// Test hook: called after the spool accepted a message and before the server mark; returning false skips
    /// the mark (simulates a crash between the two).
    let beforeServerMark: @Sendable (UInt32) async -> Bool

    /// `intake` is where spooled messages are handed over (the gateway passes one that also wakes the pipeline
    /// runner); it must store them in `spool`.
    public convenience init(sources: [Source], spool: SpoolIntake, intake: (any MessageIntake)? = nil,
                            limits: Limits = Limits(), logger: Logger) {
        self.init(sources: sources, spool: spool, intake: intake, limits: limits, logger: logger,
                  beforeServerMark: { _ in true })
    }

    init(sources: [Source], spool: SpoolIntake, intake: (any MessageIntake)?, limits: Limits, logger: Logger,
         beforeServerMark: @escaping @Sendable (UInt32) async -> Bool) {
        self.sources = sources
        self.spool = spool
        self.intake = intake ?? spool
        self.limits = limits
        self.logger = logger
        self.beforeServerMark = beforeServerMark
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for index in self.sources.indices {
                    group.addTask { await self.poll(sourceIndex: index) }
                }
            }
        }
    }

    /// Polls one source until cancelled: a cycle, then the poll interval; after a failure, exponential back-off.
    func poll(sourceIndex: Int) async {
        var backoff = limits.initialBackoff
        while !Task.isCancelled {
            let wait: Duration
            do {
                let report = try await runCycle(sources[sourceIndex], idle: limits.useIDLE)
                if !report.imported.isEmpty || !report.tooLarge.isEmpty {
                    logger.info("imap cycle", metadata: [
                        "source": "\(sourceIndex)", "imported": "\(report.imported.count)",
                        "too-large": "\(report.tooLarge.map(String.init).joined(separator: ","))",
                    ])
                }
                backoff = limits.initialBackoff
                wait = report.idled ? .zero : limits.pollInterval
            } catch {
                logger.warning("imap cycle failed", metadata: ["source": "\(sourceIndex)", "error": "\(error)"])
                wait = backoff
                backoff = min(backoff * 2, limits.maximumBackoff)
            }
            try? await Task.sleep(for: wait)
        }
    }

    /// One connection: connect and verify TLS, LOGIN, SELECT, list, and for each message fetch → spool → mark.
    /// Any error ends the connection (a malformed response included); what was spooled stays spooled.
    public func runCycle(_ source: Source, idle: Bool = false) async throws -> CycleReport {
        let config = source.configuration
        let password = try Self.readPassword(config.passwordFile.string)
        let settings = IMAPConnectionSettings(
            host: config.host, port: config.port, security: config.tls == .implicit ? .implicitTLS : .startTLS,
            verifyHostName: source.verifyHostName ?? config.host, caFile: source.caFile,
            timeoutSeconds: limits.timeoutSeconds)
        let client = try await IMAPClient.connect(settings)
        var report = CycleReport()
        do {
            let limits = self.limits
            let folder = config.folder
            let username = config.username
            let listed = try await client.perform { connection in
                try connection.login(username: username, password: password)
                try connection.refreshCapabilities()
                _ = try connection.select(folder)
                return try connection.listMessages(limit: limits.messagesPerCycle)
            }
            if case .move(let target) = config.afterImport, !listed.isEmpty {
                try await client.perform { try $0.createFolderIfMissing(target) }
            }
            for message in listed {
                try Task.checkCancellation()
                guard message.size <= limits.maximumMessageSize else {
                    report.tooLarge.append(message.uid)
                    continue
                }
                let uid = message.uid
                guard let data = try await client.perform({
                    try $0.fetchMessage(uid: uid, maximumSize: limits.maximumMessageSize)
                }) else { continue }
                _ = try await spoolMessage(data, deliverTo: config.deliverTo)
                // Only now, with the message durable in the spool, may it leave the server.
                guard await beforeServerMark(uid) else {
                    report.spooledOnly.append(uid)
                    continue
                }
                let target: String? = if case .move(let folder) = config.afterImport { folder } else { nil }
                try await client.perform { try $0.markImported(uid: uid, moveTo: target) }
                report.imported.append(uid)
            }
            // Nothing was left for this cycle: wait in IDLE for new mail (at most one poll interval).
            if idle, listed.count < limits.messagesPerCycle, !Task.isCancelled {
                let seconds = Int(limits.pollInterval.components.seconds)
                let cancelled = CancellationFlag()
                report.idled = try await withTaskCancellationHandler {
                    try await client.perform { try $0.idle(seconds: max(1, seconds), isCancelled: cancelled.get) }
                } onCancel: {
                    cancelled.set()
                }
            }
        } catch {
            await client.abort()
            throw error
        }
        await client.close()
        return report
    }

    /// Writes one message into the spool (tmp file, fsync) and hands it to the intake (durable rename).
    func spoolMessage(_ data: Data, deliverTo: EmailAddress) async throws -> IntakeReceipt {
        let now = Date()
        let queueID = QueueID.make(millisecondsSince1970: UInt64(now.timeIntervalSince1970 * 1000))
        let file = try spool.makeSpoolFile(queueID: queueID)
        do {
            try await file.append(ByteBuffer(bytes: data))
            try await file.finish()
        } catch {
            file.discard()
            throw error
        }
        let envelope = InboundMessage.Envelope(
            reversePath: ReturnPathHeader.reversePath(in: data), recipients: [deliverTo], clientAddress: nil,
            receivedAt: now, queueID: queueID, smtpUTF8: false, eightBitMIME: true)
        do {
            return try await intake.accept(InboundMessage(envelope: envelope, spoolFile: file.url, size: data.count))
        } catch {
            try? FileManager.default.removeItem(at: file.url)
            throw error
        }
    }

    static func readPassword(_ path: String) throws(IMAPError) -> String {
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data.prefix(4096), encoding: .utf8),
            let first = text.split(whereSeparator: \.isNewline).first, !first.isEmpty
        else { throw IMAPError(.passwordFile) }
        return String(first)
    }
}

/// Set when the fetcher's task is cancelled; read by IDLE on the IMAP thread.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    func get() -> Bool { lock.withLock { value } }
}
