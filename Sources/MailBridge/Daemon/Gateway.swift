// Security: the gateway wires the parts together; it handles no mail itself. It opens the store with the master
// key, binds the listener to the configured (loopback by default) address, and makes sure every mailbox has a
// gateway key. Log lines name parts and counts, never addresses.

import Foundation
public import Logging
public import PGPShim
import ServiceLifecycle
import UnixSignals
public import ThreadStore
import StorePostgres

/// Everything `mailbridge serve` runs: the SMTP listener, the IMAP fetcher (if `[[imap]]` sources exist), the
/// pipeline runner, the outbound queue and the web inbox, in one
/// `ServiceGroup` with graceful shutdown on SIGTERM/SIGINT.
public final class Gateway: Sendable {
    public let configuration: BridgeConfiguration
    /// The opened store engine (issue 21: SQLite, or PostgreSQL shared with other nodes).
    public let engine: OpenedStoreEngine
    /// The SQLite store (tests, and the parts without a seam). - Throws: ``ConfigurationError`` on PostgreSQL.
    public var store: ThreadStore {
        get throws(ConfigurationError) { try engine.sqliteStore }
    }
    public let pgp: PGPService
    public let listener: SMTPListener
    public let runner: PipelineRunner
    public let queue: OutboundQueue?
    public let metricsEndpoint: MetricsEndpoint?
    /// Fetches from the `[[imap]]` sources into the same spool; nil when none are configured.
    public let fetcher: IMAPFetcher?
    public let gatewayKeys: [String: KeyFingerprint]
    /// The one way counsellor replies are queued (for the web inbox); the queue picks them up within its poll
    /// interval, or at once after ``OutboundQueue/kick()``.
    public let replies: ReplyComposer
    /// The mailboxes in force, read by the pipeline, the composer and the outbox; a reload replaces them here.
    public let mailboxes: MailboxDirectory
    /// Wakes the queue when another process (`mailbridge reply`) queued mail; nil without a smarthost.
    let wake: QueueWakeSocket?
    /// The web inbox and JSON API; nil when `[web] enabled = false`.
    public let web: WebServer?
    /// The help page's own listener (`[help] port`); nil when the inbox server serves it or it is off.
    public let help: HelpServer?
    /// Retention (crypto-shredding old threads) and expired web sessions, hourly.
    public let maintenance: MaintenanceService
    /// Notice digests and the waiting-thread gauges (issue 17).
    let noticeServices: [any Service]
    let logger: Logger
    /// This daemon's hold on the GnuPG home (issue 28), released when ``run(reloadingFrom:)`` ends.
    let homeClaim: HomeClaim
    /// On PostgreSQL, this process's claim on its node name, renewed while it runs (``NodeClaimService``).
    let nodeClaim: NodeClaimService?

    /// Prepares the data folder (0700: master key, GnuPG home, spool, store), generates missing gateway keys and
    /// binds the listener. Throws with a clear, content-free error if anything is missing.
    public static func start(_ configuration: BridgeConfiguration, logger: Logger) async throws -> Gateway {
        let installation = try await OpenedInstallation.open(configuration, claimingHome: true, logger: logger)
        let (engine, pgp, mailboxes, gatewayKeys) = (installation.engine, installation.pgp, installation.mailboxes,
                                                     installation.gatewayKeys)
        let stores = installation.stores
        let data = installation.dataFolder
        let metrics = GatewayMetrics()
        try await GatewayOrganisations.reconcileAssignments(configuration.organisationDirectory, stores: stores,
                                                            logger: logger)
        await GatewayOrganisations.sealUnderOrganisationKeys(stores: stores, logger: logger)
        for organisation in configuration.organisations {
            metrics.organisationKey(organisation.id.rawValue,
                                    loaded: engine.organisationKeys.hasKey(for: organisation.id))
        }
        let webhooks = try await GatewayWebhooks.dispatcher(configuration, engine: engine, stores: stores,
                                                            metrics: metrics, logger: logger)
        // One reloadable directory of mailboxes for the pipeline, the reply composer and the outbox.
        let directory = MailboxDirectory(mailboxes)
        var queue: OutboundQueue?
        if let smarthost = configuration.smarthost {
            let client = SMTPClient(configuration: try smarthost.clientConfiguration(
                heloName: mailboxes.first?.address.domain ?? "localhost"), logger: logger)
            // Deliveries the smarthost accepted just before a crash are marked delivered before the queue runs.
            let journal = try DeliveryJournal(path: data.appendingPathComponent(DeliveryJournal.fileName).path)
            try await journal.replay { ids in
                let marked = try await engine.markDeliveredAfterCrash(ids)
                logger.notice("deliveries recorded from the journal", metadata: ["count": "\(marked)"])
            }
            queue = OutboundQueue(store: engine.outboxStore(mailboxes: directory, metrics: metrics, logger: logger),
                                  deliverer: client,
                                  policy: RetryPolicy(maximumAge: .seconds(smarthost.maxAgeHours * 3600)),
                                  logger: logger, journal: journal)
        } else {
            logger.warning("no [smarthost] configured: replies and notices stay queued until one is configured")
        }
        // The outbound funnel: everything queued anywhere wakes the queue once its transaction has committed.
        let outbox = Outbox(wake: { [queue] in queue?.kick() })
        // Several nodes (PostgreSQL): the client keys any node imported, in this node's keyring before mail flows.
        let sharedKeys = engine.sharedPublicKeys(pgp: pgp, logger: logger)
        var publishKeys: Pipeline.PublishKeys?
        if let sharedKeys {
            try await sharedKeys.pull()
            publishKeys = { fingerprints in for key in fingerprints { try await sharedKeys.publish(key) } }
        }
        let pipeline = Pipeline(
            threads: stores.inbound, pgp: pgp,
            configuration: .init(mailboxes: mailboxes, mimeLimits: configuration.mimeLimits.parserLimits,
                                 redirectPeriod: TimeInterval(configuration.autoreply.rateLimitPeriodSeconds),
                                 maximumSignatureAge: TimeInterval(configuration.signatures.maxAgeDays) * 86_400,
                                 keyRequestPeriod: TimeInterval(configuration.autoreply.keyRequestPeriodSeconds),
                                 receiptPeriod: configuration.receipt.period,
                                 notices: NoticeSettings(configuration)),
            directory: directory, logger: logger, metrics: metrics, outbox: outbox,
            heldReplies: Pipeline.releasingHeldReplies(stores.replies, pgp: pgp, outbox: outbox, logger: logger),
            publishKeys: publishKeys, organisationKeys: engine.organisationKeys)
        let spool = try SpoolIntake(root: data.appendingPathComponent("spool"),
                                    mirror: engine.spoolMirror(logger: logger))
        // Recovery deletes half-received files in spool/tmp: it runs to completion before the listener is bound
        // and before the fetcher exists, so no session can lose the file it is writing.
        let removed = try spool.recover()
        if removed > 0 { logger.notice("spool recovery removed incomplete files", metadata: ["count": "\(removed)"]) }
        // Issue 28: no gpg left over from a killed daemon may still rewrite the keyring once gpg runs: claimed by
        // `open` before the gateway keys are looked up.
        let homeClaim = installation.homeClaim!
        // As many spooled messages at once as there are PGP contexts: decryption is the slow step.
        let runner = PipelineRunner(spool: spool, pipeline: pipeline, logger: logger,
                                    concurrency: pgp.configuration.maximumConcurrentOperations,
                                    isTransient: { EngineRetry.isTransient($0) || PostgresDatabase.isUnavailable($0) },
                                    onQuarantine: { [metrics] in metrics.spoolQuarantined($0) },
                                    afterLargeMessage: { [engine] in engine.returnFreedMemory() })

        // [[imap]] sources feed the same durable spool as SMTP and wake the same runner.
        let fetcher: IMAPFetcher? = configuration.imapSources.isEmpty ? nil : IMAPFetcher(
            sources: configuration.imapSources.map { IMAPFetcher.Source($0) },
            intake: KickingIntake(spool: spool, runner: runner, metrics: metrics),
            limits: .fromConfiguration(configuration), stateFolder: data.appendingPathComponent("imap-state"),
            beforeSetAside: IMAPFetcher.queueNoticeBeforeSetAside(pipeline: pipeline),
            setAside: IMAPFetcher.noticeOnSetAside(metrics: metrics),
            logger: logger)

        let smtp = configuration.smtp
        var server = SMTPServerConfiguration(
            hostname: mailboxes.first?.address.domain ?? "localhost",
            maximumCommandLineLength: smtp.maxCommandLineLength, maximumTextLineLength: smtp.maxTextLineLength,
            maximumMessageSize: smtp.maxMessageSize, maximumHeaderSize: smtp.maxHeaderSize,
            maximumRecipients: smtp.maxRecipients, maximumErrors: smtp.maxErrors,
            maximumCommands: smtp.maxCommands, commandTimeout: .seconds(smtp.commandTimeoutSeconds),
            sessionDeadline: .seconds(smtp.sessionDeadlineSeconds), minimumDataRate: smtp.minDataRate,
            maximumConnectionsPerIP: smtp.maxConnectionsPerIP, maximumConnections: smtp.maxConnections)
        server.maximumJunkCommands = smtp.maxJunkCommands
        server.stressThreshold = Double(smtp.stressThresholdPercent) / 100
        server.stressCommandTimeout = .seconds(smtp.stressCommandTimeoutSeconds)
        let listener = try await BindFailure.naming("SMTP listener", host: smtp.listen, port: smtp.port) {
            try await SMTPListener.bind(
                host: smtp.listen, port: smtp.port, configuration: server,
                policy: RecipientPolicy(accepting: configuration.mailboxes.map(\.address)),
                intake: KickingIntake(spool: spool, runner: runner, metrics: metrics),
                tls: smtp.tlsCertificate.flatMap { cert in
                    smtp.tlsKey.map {
                        SMTPTLSConfiguration(certificateChainPath: cert.string, privateKeyPath: $0.string)
                    }
                },
                logger: logger)
        }

        var endpoint: MetricsEndpoint?
        if configuration.metrics.enabled {
            let (host, port) = (configuration.metrics.listen, configuration.metrics.port)
            endpoint = try await BindFailure.naming("metrics endpoint", host: host, port: port) {
                try await MetricsEndpoint.bind(host: host, port: port, metrics: metrics, logger: logger)
            }
        }
        // A reply queued in the web inbox or the API wakes the queue at once; one queued with `mailbridge reply`
        // (another process) wakes it through the data folder's wake socket.
        let replies = ReplyComposer(replies: stores.replies, pgp: pgp, mailboxes: directory, logger: logger,
                                    outbox: outbox)
        var wake: QueueWakeSocket?
        if let queue { wake = try await QueueWakeSocket.bind(dataFolder: data, logger: logger) { queue.kick() } }
        var services = WebServices(webState: stores.webState, inbox: stores.inbox, replies: replies, logger: logger,
                                   auth: WebAuthSettings(configuration.web),
                                   timeZone: configuration.web.timeZone.flatMap(TimeZone.init(identifier:)) ?? .current,
                                   accounts: stores.accounts)
        services.organisations = configuration.organisationDirectory.closing(engine.organisationKeys.missing)
        services.fields = Set(configuration.mailboxes.compactMap { try? CounsellingField($0.field) })
        services.audit = stores.audit
        // The help page: on its own listener when `[help] port` is set, else under /help of the inbox server.
        var helpServer: HelpServer?
        var helpDirectory: HelpDirectory?
        if configuration.help.enabled {
            var made = try await HelpDirectory.make(
                mailboxes: mailboxes, pgp: pgp,
                receiptPeriodHours: configuration.receipt.enabled ? configuration.receipt.periodHours : nil)
            made.organisations = HelpDirectory.organisations(of: configuration)
            helpDirectory = made
            if configuration.help.port != nil {
                helpServer = try HelpServer(configuration: configuration.help, directory: made, logger: logger)
            } else {
                services.help = made
            }
        }
        let web: WebServer? = configuration.web.enabled ? try WebServer(
            configuration: configuration.web, services: services, logger: logger) : nil
        let maintenance = try MaintenanceService(
            maintenance: stores.maintenance, webState: services.webState, retention: configuration.retention,
            sessionIdleTimeout: TimeInterval(configuration.web.sessionIdleMinutes * 60), webhooks: stores.webhooks,
            logger: logger)
        // Digests read the mailboxes and inbox link in force, so a reload reaches them too.
        var noticeServices: [any Service] = [NoticeDigestService(
            digests: stores.digests, mailboxes: { [directory] in directory.all },
            inbox: { [pipeline] in pipeline.configuration.notices.inboxLink }, outbox: outbox, logger: logger)]
        // Issue 20: gateway key rotation, revocation, expiry extension and retirement reach the running daemon.
        // Several nodes: a key made or changed on another node is imported at each refresh, every 5 seconds.
        noticeServices.append(GatewayKeyService(
            lifecycle: installation.gatewayKeyLifecycle(logger: logger), directory: directory, help: helpDirectory,
            metrics: endpoint != nil ? metrics : nil,
            refreshInterval: installation.sharedGatewayKeys == nil ? .seconds(15) : .seconds(5), logger: logger))
        if endpoint != nil {
            noticeServices.append(WaitingThreadsMonitor(
                gauges: stores.gauges, metrics: metrics, thresholdsHours: configuration.metrics.waitingThresholdsHours,
                logger: logger, organisations: configuration.organisationDirectory))
            noticeServices.append(QueueDepthMonitor(gauges: stores.gauges, metrics: metrics, logger: logger))
        }
        if let sharedKeys { noticeServices.append(sharedKeys) }
        if let webhooks { noticeServices.append(webhooks) }
        return Gateway(configuration: configuration, engine: engine, pgp: pgp, listener: listener, runner: runner,
                       queue: queue, metricsEndpoint: endpoint, fetcher: fetcher, gatewayKeys: gatewayKeys,
                       replies: replies, mailboxes: directory, wake: wake, web: web, help: helpServer,
                       maintenance: maintenance, noticeServices: noticeServices, logger: logger,
                       homeClaim: homeClaim,
                       nodeClaim: installation.nodeClaim.map { NodeClaimService($0, logger: logger) })
    }

    private init(configuration: BridgeConfiguration, engine: OpenedStoreEngine, pgp: PGPService, listener: SMTPListener,
                 runner: PipelineRunner, queue: OutboundQueue?, metricsEndpoint: MetricsEndpoint?,
                 fetcher: IMAPFetcher?, gatewayKeys: [String: KeyFingerprint], replies: ReplyComposer,
                 mailboxes: MailboxDirectory, wake: QueueWakeSocket?, web: WebServer?, help: HelpServer?,
                 maintenance: MaintenanceService, noticeServices: [any Service] = [], logger: Logger,
                 homeClaim: HomeClaim, nodeClaim: NodeClaimService?) {
        self.nodeClaim = nodeClaim
        self.mailboxes = mailboxes
        self.wake = wake
        self.noticeServices = noticeServices
        self.help = help
        self.homeClaim = homeClaim
        self.metricsEndpoint = metricsEndpoint
        self.configuration = configuration
        self.engine = engine
        self.pgp = pgp
        self.listener = listener
        self.runner = runner
        self.queue = queue
        self.fetcher = fetcher
        self.gatewayKeys = gatewayKeys
        self.replies = replies
        self.web = web
        self.maintenance = maintenance
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully in this order: the SMTP listener stops accepting
    /// (new sessions get `421`), the IMAP fetcher stops fetching and the web inbox stops taking replies; then the
    /// pipeline runner finishes the messages it is processing (the rest stays in the durable spool) and the
    /// outbound queue finishes its deliveries in flight; then maintenance, metrics and the watchdog stop; the
    /// store and the GnuPG workers close last. With `reloadingFrom`, SIGHUP re-reads that configuration file
    /// (``ConfigurationReload``).
    public func run(reloadingFrom file: String? = nil) async throws {
        let notifier = SystemdNotifier()
        // Type=notify: the listener is bound and the store open, so the unit is ready now.
        try? notifier.notify(.ready, .status("accepting mail"))
        defer { try? notifier.notify(.stopping) }
        let group = ServiceGroup(configuration: .init(
            services: services(reloadingFrom: file).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            // Cancelled or failed: the store, the GnuPG workers and the home are given up all the same.
            await engine.close()
            try? await pgp.shutdown()
            homeClaim.release()
            throw error
        }
        await engine.close()
        try await pgp.shutdown()
        homeClaim.release()
    }

    /// The services in start order. `ServiceGroup` shuts them down in reverse order, so what must stop first
    /// (taking in new work) comes last here, and what must stop last (the watchdog) comes first.
    func services(reloadingFrom file: String?) -> [any Service] {
        var services: [any Service] = [SystemdWatchdogService()]
        // Released after everything that holds leases under the node name has stopped.
        if let nodeClaim { services.append(nodeClaim) }
        if let metricsEndpoint { services.append(metricsEndpoint) }
        if let file { services.append(ConfigurationReload(gateway: self, file: file, logger: logger)) }
        services.append(maintenance)
        if let queue { services.append(queue) }
        services += noticeServices
        if let wake { services.append(wake) }
        services.append(runner)
        if let web { services.append(web) }
        if let help { services.append(help) }
        if let fetcher { services.append(fetcher) }
        services.append(listener)
        return services
    }
}

/// Spools a message durably and then wakes the pipeline runner.
struct KickingIntake: MessageIntake {
    let spool: SpoolIntake
    let runner: PipelineRunner
    let metrics: GatewayMetrics?

    func makeSpoolFile(queueID: QueueID) throws -> SpoolFile {
        try spool.makeSpoolFile(queueID: queueID)
    }

    func accept(_ message: InboundMessage) async throws -> IntakeReceipt {
        let receipt = try await spool.accept(message)
        metrics?.messageAccepted()
        runner.kick()
        return receipt
    }

    func backlogCount() -> Int { spool.backlogCount() }
}

extension BridgeConfiguration.MIMELimits {
    /// The parser's limits from the `[limits.mime]` section.
    var parserLimits: MIMELimits {
        var limits = MIMELimits()
        limits.maximumNestingDepth = maxDepth
        limits.maximumParts = maxParts
        limits.maximumDecodedBytes = maxDecompressedSize
        return limits
    }
}

extension BridgeConfiguration.Smarthost {
    /// The SMTP client settings; the password is read from its file here and kept only in memory.
    func clientConfiguration(heloName: String) throws -> SMTPClientConfiguration {
        var credentials: SMTPCredentials?
        if let username, let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile.string),
                let password = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .newlines),
                !password.isEmpty
            else { throw GatewayError("cannot read the smarthost password file \(passwordFile.string)") }
            credentials = SMTPCredentials(username: username, password: password)
        }
        let mode: SMTPClientConfiguration.TLSMode = switch tls {
        case .implicit: .implicit
        case .starttls: .startTLS
        case .none: .none
        }
        let configuration = SMTPClientConfiguration(host: host, port: port, tlsMode: mode, credentials: credentials,
                                                    heloName: heloName,
                                                    deliveryTimeout: .seconds(deliveryTimeoutSeconds))
        try configuration.validate()
        return configuration
    }
}
