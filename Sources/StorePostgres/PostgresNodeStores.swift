// Security: every part one gateway node opens on a database, after one check of the master key against the
// database's key check (PostgresWebState.open); the parts seal with the same StoreSecrets.

public import Logging
public import ThreadStore

/// The store parts of one gateway node on a PostgreSQL database (issue 21), opened with one master-key check
/// instead of one per part.
///
/// ```swift
/// let node = try await PostgresNodeStores.open(database, masterKey: key, node: "node-a", lease: .seconds(60),
///                                              logger: logger)
/// let stores = (node.threads, node.webState)
/// ```
public struct PostgresNodeStores: Sendable {
    public let threads: PostgresThreads
    public let webState: PostgresWebState
    /// This node's view of the shared outbox, leased under its node name.
    public let outbox: PostgresOutboxQueue
    /// The clients' public keys every node shares.
    public let keyShelf: PostgresKeyShelf
    /// The gateway's secret keys every node shares.
    public let gatewayKeyShelf: PostgresKeyShelf
    /// The inbound spool every node shares, held under this node's name.
    public let inboundSpool: PostgresInboundSpool

    /// - Throws: ``ThreadStoreError/invalidValue`` for a node name or lease ``PostgresOutboxQueue`` refuses;
    ///   ``ThreadStoreError/wrongMasterKey``.
    public static func open(
        _ database: PostgresDatabase, masterKey: MasterKey, node: String, lease: Duration,
        configuration: ThreadStore.Configuration = ThreadStore.Configuration(), logger: Logger
    ) async throws -> PostgresNodeStores {
        let id = try PostgresOutboxQueue.nodeID(node, lease: lease)
        let webState = try await PostgresWebState.open(database, masterKey: masterKey, clock: configuration.clock,
                                                       organisationKeys: configuration.organisationKeys, logger: logger)
        let secrets = webState.secrets
        return PostgresNodeStores(
            threads: PostgresThreads(database: database, secrets: secrets, configuration: configuration,
                                     logger: logger),
            webState: webState,
            outbox: PostgresOutboxQueue(database: database, secrets: secrets, node: id, lease: lease,
                                        configuration: configuration, logger: logger),
            keyShelf: PostgresKeyShelf(database: database, secrets: secrets, logger: logger),
            gatewayKeyShelf: PostgresKeyShelf(database: database, secrets: secrets, contents: .gatewaySecretKeys,
                                              logger: logger),
            inboundSpool: PostgresInboundSpool(database: database, secrets: secrets, node: id, lease: lease,
                                               logger: logger))
    }
}
