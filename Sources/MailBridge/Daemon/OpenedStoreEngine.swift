// Security: opens the configured store engine with the master key. PostgreSQL only ever receives what the
// StorePostgres types seal (docs/postgresql.md); errors name the endpoint and the problem, never a password.

public import Foundation
public import Logging
import MailValues
public import PGPShim
public import StorePostgres
public import ThreadStore

/// The opened store of an installation (issue 21): the embedded SQLite file, or a PostgreSQL database shared by
/// several nodes. ``OpenedInstallation`` hands out its seams (``stores``); the SQLite backup asks for the SQLite
/// store (``OpenedInstallation/store``) and gets a clear error on PostgreSQL.
///
/// ```swift
/// let engine = try await OpenedStoreEngine.open(configuration, dataFolder: data, masterKey: key, logger: logger)
/// let stores = engine.stores
/// defer { Task { await engine.close() } }
/// ```
public enum OpenedStoreEngine: Sendable {
    case sqlite(ThreadStore)
    case postgresql(OpenedPostgres)

    /// Opens `configuration.store`: the SQLite file in the data folder, or the PostgreSQL server (its schema
    /// migrated if this role owns it, ``PostgresStore/open(_:logger:)``; its pool running until ``close()``).
    /// - Throws: ``ThreadStoreError/wrongMasterKey``; a ``PostgresProblem`` naming what failed on the server.
    /// `gatewayNode`: the daemon (its PostgreSQL connections name the node, and one stays open while it runs).
    public static func open(_ configuration: BridgeConfiguration, dataFolder: URL, masterKey: MasterKey,
                            gatewayNode: Bool = false, logger: Logger) async throws -> OpenedStoreEngine {
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.logger = logger
        // Issue 29: each organisation's own key; one that cannot be read leaves that organisation waiting.
        let loaded = configuration.loadOrganisationKeys(installationKey: masterKey)
        // The daemon reports a missing key as an error; a command (its own output shows the keys) only notes it.
        let level: Logger.Level = gatewayNode ? .error : .notice
        for (organisation, problem) in loaded.problems.sorted(by: { $0.key < $1.key }) {
            logger.log(level: level, "organisation key unavailable: its mail stays spooled until the key is back",
                         metadata: ["organisation": "\(organisation.rawValue)", "problem": "\(problem)"])
        }
        storeConfiguration.organisationKeys = loaded.keys
        let engine = try await openEngine(configuration, dataFolder: dataFolder, masterKey: masterKey,
                                          storeConfiguration: storeConfiguration, gatewayNode: gatewayNode,
                                          logger: logger)
        for organisation in engine.organisationKeys.refused.sorted() {
            logger.log(level: level, "organisation key refused: not the key the store knows; its mail stays spooled",
                         metadata: ["organisation": "\(organisation.rawValue)"])
        }
        return engine
    }

    private static func openEngine(_ configuration: BridgeConfiguration, dataFolder: URL, masterKey: MasterKey,
                                   storeConfiguration: ThreadStore.Configuration, gatewayNode: Bool,
                                   logger: Logger) async throws -> OpenedStoreEngine {
        guard configuration.store.engine == .postgresql, let postgresql = configuration.store.postgresql else {
            return .sqlite(try ThreadStore(at: dataFolder.appendingPathComponent("threads.sqlite"),
                                           masterKey: masterKey, configuration: storeConfiguration))
        }
        return .postgresql(try await OpenedPostgres.open(postgresql, masterKey: masterKey,
                                                         configuration: storeConfiguration, gatewayNode: gatewayNode,
                                                         logger: logger))
    }

    /// The organisations' keys in force (issue 29): those read and accepted by the store.
    public var organisationKeys: OrganisationKeys {
        switch self {
        case .sqlite(let store): store.organisationKeys
        case .postgresql(let opened): opened.threads.organisationKeys
        }
    }

    /// Every seam the daemon's parts run on.
    public var stores: GatewayStores {
        switch self {
        case .sqlite(let store): .sqlite(store)
        case .postgresql(let opened): .postgresql(opened.threads, webState: opened.webState)
        }
    }

    /// The SQLite store, for `mailbridge backup` (its archive holds the SQLite file).
    /// - Throws: ``ConfigurationError`` on PostgreSQL, naming the engine.
    public var sqliteStore: ThreadStore {
        get throws(ConfigurationError) {
            guard case .sqlite(let store) = self else {
                throw ConfigurationError(
                    .invalidValue, option: "store.engine",
                    expected: "\"sqlite\" for this command (docs/operations.md: on PostgreSQL, the "
                        + "database's own tools)")
            }
            return store
        }
    }

    /// Marks outbox items delivered that the delivery journal recorded before a crash (the smarthost had accepted
    /// them); returns how many were still queued.
    public func markDeliveredAfterCrash(_ ids: [String]) async throws -> Int {
        switch self {
        case .sqlite(let store):
            return try await store.write { tx in try ids.filter { try tx.markOutboxDeliveredIfPresent($0) } }.count
        case .postgresql(let opened):
            var marked = 0
            for id in ids where try await opened.outbox.markDeliveredAfterCrash(id) { marked += 1 }
            return marked
        }
    }

    /// The outbound queue's store: this installation's outbox, leased per node on PostgreSQL.
    func outboxStore(mailboxes: MailboxDirectory, metrics: GatewayMetrics, logger: Logger) -> any OutboxStore {
        switch self {
        case .sqlite(let store):
            ThreadStoreOutbox(store: store, mailboxes: mailboxes, metrics: metrics)
        case .postgresql(let opened):
            PostgresOutboxStore(outbox: opened.outbox, mailboxes: mailboxes, metrics: metrics, logger: logger)
        }
    }

    /// The clients' public keys shared with the other nodes (PostgreSQL), nil on SQLite.
    func sharedPublicKeys(pgp: PGPService, logger: Logger) -> SharedKeys? {
        guard case .postgresql(let opened) = self else { return nil }
        return SharedKeys(shelf: opened.keyShelf, pgp: pgp, logger: logger)
    }

    /// Whether accepted messages are also recorded in a shared spool (``spoolMirror(logger:)``): what an
    /// administrator's command that puts a message back into the spool marks for the running gateway to record.
    var sharesSpool: Bool {
        guard case .postgresql = self else { return false }
        return true
    }

    /// Where an accepted message is recorded before the `250` besides the node's own spool folder: the shared
    /// spool on PostgreSQL, so that another node processes it if this one is lost; nil on SQLite.
    func spoolMirror(logger: Logger) -> (any SpoolMirror)? {
        guard case .postgresql(let opened) = self else { return nil }
        return PostgresSpoolMirror(opened.inboundSpool, logger: logger)
    }

    /// The gateway's secret keys shared with the other nodes (PostgreSQL), nil on SQLite.
    func sharedGatewayKeys(pgp: PGPService, logger: Logger) -> SharedKeys? {
        guard case .postgresql(let opened) = self else { return nil }
        return SharedKeys(shelf: opened.gatewayKeyShelf, pgp: pgp, logger: logger)
    }

    /// Gives freed memory back after a large message: SQLite's page cache first, then the heap.
    func returnFreedMemory() {
        switch self {
        case .sqlite(let store): ProcessMemory.returnFreedMemory(releasing: store)
        case .postgresql: _ = ProcessMemory.returnFreedMemory()
        }
    }

    /// Closes the SQLite file, or stops the PostgreSQL pool.
    public func close() async {
        switch self {
        case .sqlite(let store): try? store.close()
        case .postgresql(let opened): await opened.close()
        }
    }
}

/// A PostgreSQL store opened by this process: one pool, its run task, and the store's parts on it.
public struct OpenedPostgres: Sendable {
    public let database: PostgresDatabase
    public let threads: PostgresThreads
    public let webState: PostgresWebState
    /// This node's view of the shared outbox, leased under its node name (`[store] node-id`).
    public let outbox: PostgresOutboxQueue
    /// The clients' public keys, sealed, shared by every node.
    public let keyShelf: PostgresKeyShelf
    /// The gateway's secret keys, sealed, shared by every node.
    public let gatewayKeyShelf: PostgresKeyShelf
    /// The inbound spool every node shares, held under this node's name.
    public let inboundSpool: PostgresInboundSpool
    /// This node's name (`[store] node-id`, else the host name) and how long its leases last.
    public let node: String
    public let lease: Duration
    private let pool: Task<Void, Never>

    /// A claim on this node's name for a new process (``NodeClaimService``).
    func nodeClaim(logger: Logger) throws -> PostgresNodeClaim {
        try PostgresNodeClaim(database, node: node, lease: lease, process: ProcessIdentity.current(), logger: logger)
    }

    static func open(_ postgresql: BridgeConfiguration.PostgreSQL, masterKey: MasterKey,
                     configuration: ThreadStore.Configuration, gatewayNode: Bool,
                     logger: Logger) async throws -> OpenedPostgres {
        let node = postgresql.nodeName(hostName: ProcessInfo.processInfo.hostName)
        var endpoint = postgresql.endpoint
        if gatewayNode { endpoint.applicationName = PostgresEndpoint.gatewayNode(node) }
        _ = try await PostgresStore.open(endpoint, logger: logger)
        let database = try PostgresDatabase(endpoint, minimumConnections: gatewayNode ? 1 : 0, logger: logger)
        let pool = await database.start()
        do {
            let stores = try await PostgresNodeStores.open(
                database, masterKey: masterKey, node: node, lease: .seconds(postgresql.leaseSeconds),
                configuration: configuration, logger: logger)
            logger.notice("store opened on PostgreSQL", metadata: ["node": "\(node)"])
            return OpenedPostgres(database: database, threads: stores.threads, webState: stores.webState,
                                  outbox: stores.outbox, keyShelf: stores.keyShelf,
                                  gatewayKeyShelf: stores.gatewayKeyShelf, inboundSpool: stores.inboundSpool,
                                  node: node, lease: .seconds(postgresql.leaseSeconds), pool: pool)
        } catch {
            pool.cancel()
            await pool.value
            // The master key's verdict stays as it is; a failure on the way to the server says what failed.
            if error is ThreadStoreError { throw error }
            throw PostgresProblem(explaining: error, endpoint: endpoint)
        }
    }

    func close() async {
        pool.cancel()
        await pool.value
    }
}

extension BridgeConfiguration.PostgreSQL {
    /// The engine's endpoint for the configured server (the gateway's role).
    public var endpoint: PostgresEndpoint {
        PostgresEndpoint(
            host: host, port: port, database: database, user: user, passwordFile: passwordFile.string,
            tls: tls == .disable ? .disable : .verifyFull, caFile: caFile?.string,
            connectTimeoutSeconds: connectTimeoutSeconds)
    }
}
