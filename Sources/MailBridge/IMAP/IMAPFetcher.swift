// Security: the IMAP fetcher takes mail from an existing hosted mailbox (issue 9). Untrusted input: everything
// the IMAP server sends (parsed by libetpan, IMAPConnection) and the messages themselves, which are only
// written to the spool, never parsed here except for the Return-Path header. Credentials are read from the
// password file per connection and sent only after TLS is up and the server certificate chain and host name
// verified (IMAPCertificateVerifier). Logs name the source by its index and UIDs and counts only: no address,
// user name, folder name or content.

import Crypto
public import Foundation
public import Logging
public import MailValues
import NIOConcurrencyHelpers
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
///
/// One message never stops a source (issue 28): a message whose FETCH fails is remembered per UID and
/// UIDVALIDITY (``FetchFailureLedger``, kept in the data folder), the others are fetched first, and after
/// `max-fetch-attempts` failures, or at once when it is larger than `max-message-bytes`, it is moved to the
/// source's `failed-folder` on the server (never deleted): ``beforeSetAside`` queues the team notice first (durably,
/// once per message), then the MOVE, then ``setAside`` is told (log line, metric).
/// A backlog is fetched batch after batch without sleeping, as long as the spool's backlog stays below
/// ``Limits/maximumSpoolBacklog``; when the folder is empty the fetcher waits in IDLE and re-enters it at once.
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

        /// Names the source in file names without naming the user: a hash of host, port, user and folder.
        var stateKey: String {
            let text = "\(configuration.host)\u{0}\(configuration.port)\u{0}\(configuration.username)\u{0}"
                + configuration.folder
            return SHA256.hash(data: Data(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Limits and timing.
    public struct Limits: Sendable {
        /// Messages fetched per source and cycle (the oldest UIDs first); with more waiting, the next cycle
        /// follows at once.
        public var messagesPerCycle = 50
        /// The size limit (RFC822.SIZE) for sources without `max-message-bytes`; the gateway passes the SMTP
        /// `max-message-size`. Larger messages are moved to the failed folder.
        public var maximumMessageSize = 25 * 1024 * 1024
        public var pollInterval: Duration = .seconds(60)
        /// Wait in IMAP IDLE (RFC 2177) instead of sleeping when the server offers it: new mail starts the next
        /// cycle at once; `pollInterval` bounds each IDLE, after which IDLE is entered again at once.
        public var useIDLE = true
        /// Back-off after a failed cycle: doubles from `initialBackoff` up to `maximumBackoff`.
        public var initialBackoff: Duration = .seconds(5)
        public var maximumBackoff: Duration = .seconds(15 * 60)
        public var timeoutSeconds = 60
        /// A message whose fetch failed is tried again after this delay, doubled per failure (capped at
        /// `maximumBackoff`); other messages are fetched meanwhile.
        public var retryDelay: Duration = .seconds(30)
        /// No new batch is fetched while the spool holds this many messages the pipeline has not processed yet
        /// (the fetcher waits for the runner instead of filling the disk).
        public var maximumSpoolBacklog = 200
        /// A backlog that has not shrunk for this long no longer holds fetching back.
        public var backlogStallTimeout: Duration = .seconds(30)

        public init() {}
    }

    /// The result of one cycle for one source.
    public struct CycleReport: Sendable, Equatable {
        /// Spooled and then marked on the server.
        public var imported: [UInt32] = []
        /// Spooled, but the server mark was skipped or failed (will be fetched again).
        public var spooledOnly: [UInt32] = []
        /// Larger than the size limit (moved to the failed folder if `setAside` lists them too).
        public var tooLarge: [UInt32] = []
        /// Their FETCH failed in this cycle (tried again later, or set aside).
        public var failed: [UInt32] = []
        /// Moved to the failed folder in this cycle.
        public var setAside: [UInt32] = []
        /// The cycle ended in IDLE (so the poll interval has already passed, or new mail woke it).
        public var idled = false
        /// More messages are waiting (a full batch, or the connection ended after a failed fetch): the next cycle
        /// should follow at once.
        public var more = false
    }

    /// A message moved to the failed folder: what ``setAside`` is told. Holds no content and nothing about the
    /// sender; `deliverTo` is our own counselling address (whose team gets the notice).
    public struct SetAsideEvent: Sendable, Equatable {
        public var sourceIndex: Int
        public var deliverTo: EmailAddress
        public var uid: UInt32
        /// `fetch-failed` or `too-large` (``FetchFailureLedger/Reason``).
        public var reason: String
        public var attempts: Int
        /// False when the server would not move it either: it stays in the source folder, left alone.
        public var moved: Bool
        /// Names this message across restarts without content: the source's ``Source/stateKey``, the folder's
        /// UIDVALIDITY and the UID. The notice is queued once per key (``beforeSetAside``).
        public var key = ""
    }

    /// Where a test stops a cycle as a `kill -9` would (``crashPoint``): just before or just after the MOVE of a
    /// message to the failed folder.
    enum CrashPoint: Equatable, Sendable {
        case beforeFailedFolderMove(UInt32)
        case afterFailedFolderMove(UInt32)
    }

    /// Thrown by a cycle that a test stopped at a ``CrashPoint``.
    struct SimulatedCrash: Error {}

    let sources: [Source]
    let intake: any MessageIntake
    let limits: Limits
    let logger: Logger
    /// Where each source's ``FetchFailureLedger`` is kept (`<data>/imap-state`); nil keeps it in memory only.
    let stateFolder: URL?
    /// Called before a message is moved to the failed folder: the gateway queues the team notice there, durably
    /// and once per ``SetAsideEvent/key``, so a kill between the MOVE and the notice cannot lose it and a MOVE
    /// retried after a kill sends no second one. If it throws, the message is not moved and the cycle fails.
    let beforeSetAside: @Sendable (SetAsideEvent) async throws -> Void
    /// Called after a message was moved to the failed folder, or parked (log line and metric).
    let setAside: @Sendable (SetAsideEvent) async -> Void
    /// Test hook: returning true at a ``CrashPoint`` ends the cycle there with ``SimulatedCrash``.
    let crashPoint: @Sendable (CrashPoint) -> Bool
    /// Test hook: called after the spool accepted a message and before the server mark; returning false skips
    /// the mark (simulates a crash between the two).
    let beforeServerMark: @Sendable (UInt32) async -> Bool
    private let ledgers = NIOLockedValueBox<[String: FetchFailureLedger]>([:])

    /// `intake` is where fetched messages are handed over (the gateway passes one that also wakes the pipeline
    /// runner): it makes each spool file, takes it back durably, and tells the backlog for back-pressure.
    public convenience init(sources: [Source], intake: any MessageIntake,
                            limits: Limits = Limits(), stateFolder: URL? = nil,
                            beforeSetAside: @escaping @Sendable (SetAsideEvent) async throws -> Void = { _ in },
                            setAside: @escaping @Sendable (SetAsideEvent) async -> Void = { _ in },
                            logger: Logger) {
        self.init(sources: sources, intake: intake, limits: limits, logger: logger,
                  stateFolder: stateFolder, beforeSetAside: beforeSetAside, setAside: setAside,
                  beforeServerMark: { _ in true })
    }

    init(sources: [Source], intake: any MessageIntake, limits: Limits, logger: Logger,
         stateFolder: URL? = nil,
         beforeSetAside: @escaping @Sendable (SetAsideEvent) async throws -> Void = { _ in },
         setAside: @escaping @Sendable (SetAsideEvent) async -> Void = { _ in },
         beforeServerMark: @escaping @Sendable (UInt32) async -> Bool,
         crashPoint: @escaping @Sendable (CrashPoint) -> Bool = { _ in false }) {
        self.sources = sources
        self.intake = intake
        self.limits = limits
        self.logger = logger
        self.stateFolder = stateFolder
        self.beforeSetAside = beforeSetAside
        self.setAside = setAside
        self.beforeServerMark = beforeServerMark
        self.crashPoint = crashPoint
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

    /// Polls one source until cancelled: cycle after cycle while more is waiting, else IDLE (re-entered at once
    /// after a quiet one) or the poll interval; after a failure, exponential back-off. Logs when the next
    /// attempt is due after a failure and when the source works again.
    func poll(sourceIndex: Int) async {
        var backoff = limits.initialBackoff
        var failures = 0
        while !Task.isCancelled {
            await waitForSpoolBacklog()
            let wait: Duration
            do {
                let report = try await runCycle(sources[sourceIndex], idle: limits.useIDLE, sourceIndex: sourceIndex)
                if failures > 0 {
                    logger.notice("imap source recovered", metadata: [
                        "source": "\(sourceIndex)", "failed-cycles": "\(failures)"])
                }
                failures = 0
                backoff = limits.initialBackoff
                wait = report.more || report.idled ? .zero : limits.pollInterval
            } catch {
                failures += 1
                wait = backoff
                logger.warning("imap cycle failed", metadata: [
                    "source": "\(sourceIndex)", "error": "\(error)", "failed-cycles": "\(failures)",
                    "next-attempt-in-seconds": "\(wait.components.seconds)"])
                backoff = min(backoff * 2, limits.maximumBackoff)
            }
            if wait > .zero { try? await Task.sleep(for: wait) }
        }
    }

    /// Waits (checking every 200 ms) while the spool holds ``Limits/maximumSpoolBacklog`` or more messages. If
    /// the backlog does not shrink for ``Limits/backlogStallTimeout`` (the runner holds messages it cannot
    /// process, which stay in the spool until the next start), fetching goes on: back-pressure may slow a
    /// source, never stop it.
    func waitForSpoolBacklog() async {
        var lowest = Int.max
        var since = ContinuousClock.now
        while !Task.isCancelled {
            let count = intake.backlogCount()
            guard count >= limits.maximumSpoolBacklog else { return }
            if count < lowest {
                lowest = count
                since = .now
            } else if ContinuousClock.now - since > limits.backlogStallTimeout {
                logger.warning("imap fetching despite a spool backlog that does not shrink",
                               metadata: ["backlog": "\(count)"])
                return
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// One connection: connect and verify TLS, LOGIN, SELECT, list the UIDs; move messages that are due to the
    /// failed folder; then for each message of the batch: size → fetch → spool → mark. A failed FETCH is
    /// recorded against its UID and the cycle goes on (or, if the server dropped the connection, ends with
    /// `more`); any other error ends the cycle (what was spooled stays spooled).
    public func runCycle(_ source: Source, idle: Bool = false, sourceIndex: Int = 0) async throws -> CycleReport {
        let config = source.configuration
        let password = try Self.readPassword(config.passwordFile.string)
        let settings = IMAPConnectionSettings(
            host: config.host, port: config.port, security: config.tls == .implicit ? .implicitTLS : .startTLS,
            verifyHostName: source.verifyHostName ?? config.host, caFile: source.caFile,
            timeoutSeconds: limits.timeoutSeconds)
        var ledger = loadLedger(source)
        let stored = ledger
        let client = try await IMAPClient.connect(settings)
        var cycle = FetchCycle(fetcher: self, source: source, sourceIndex: sourceIndex, client: client)
        do {
            let folder = config.folder
            let username = config.username
            let (uidValidity, uids) = try await client.perform { connection in
                try connection.login(username: username, password: password)
                try connection.refreshCapabilities()
                _ = try connection.select(folder)
                return (connection.uidValidity, try connection.listUIDs())
            }
            ledger.selected(uidValidity: uidValidity)
            ledger.keepOnly(Set(uids))
            let connected = try await cycle.run(uids: uids, ledger: &ledger, idle: idle)
            saveLedger(ledger, changedFrom: stored, source: source)
            if connected { await client.close() } else { await client.abort() }
        } catch {
            // A simulated kill (tests) saves nothing, as a real one would not.
            if !(error is SimulatedCrash) { saveLedger(ledger, changedFrom: stored, source: source) }
            await client.abort()
            throw error
        }
        return cycle.report
    }

    private func loadLedger(_ source: Source) -> FetchFailureLedger {
        let key = source.stateKey
        if let cached = ledgers.withLockedValue({ $0[key] }) { return cached }
        var ledger = FetchFailureLedger()
        if let stateFolder {
            do {
                ledger = try FetchFailureLedgerFile(folder: stateFolder, key: key).load()
            } catch {
                logger.error("imap failure ledger unreadable; starting empty", metadata: ["error": "\(error)"])
            }
        }
        ledgers.withLockedValue { $0[key] = ledger }
        return ledger
    }

    private func saveLedger(_ ledger: FetchFailureLedger, changedFrom stored: FetchFailureLedger, source: Source) {
        let key = source.stateKey
        ledgers.withLockedValue { $0[key] = ledger }
        guard ledger != stored, let stateFolder else { return }
        do {
            try FetchFailureLedgerFile(folder: stateFolder, key: key).save(ledger)
        } catch {
            logger.error("imap failure ledger not saved", metadata: ["error": "\(error)"])
        }
    }

    /// Writes one message into the spool (tmp file, fsync) and hands it to the intake (durable rename).
    func spoolMessage(_ data: Data, deliverTo: EmailAddress) async throws -> IntakeReceipt {
        let now = Date()
        let queueID = QueueID.make(millisecondsSince1970: UInt64(now.timeIntervalSince1970 * 1000))
        let file = try intake.makeSpoolFile(queueID: queueID)
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
