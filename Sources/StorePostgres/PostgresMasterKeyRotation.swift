// Security: a master key rotation on PostgreSQL, in ONE serializable transaction: every value sealed under a key
// derived from the master key is opened and sealed again under the new one (StoreResealing, the same functions as
// SQLite's rotation), the key check and the kept lookup keys are replaced, and the rotation is audited. The
// transaction first locks `store_meta` (ACCESS EXCLUSIVE): a node that starts meanwhile waits for the commit and then
// finds its master key refused. It refuses while any gateway node is connected: a running node keeps sealing under
// the old key. Key bytes never reach a statement's text, a log line or an error.

public import Foundation
public import Logging
import PostgresNIO
public import ThreadStore

/// `mailbridge master-key rotate` on a PostgreSQL store (issue 21).
///
/// ```swift
/// let summary = try await PostgresMasterKeyRotation.rotate(database, from: current, to: next, logger: logger)
/// ```
public enum PostgresMasterKeyRotation {
    /// The `application_name` prefix of a running gateway node's connections (``PostgresEndpoint/gatewayNode(_:)``).
    public static let gatewayApplicationPrefix = "mailbridge-gateway"

    /// Why a rotation did not start.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        /// Gateway nodes are connected to the database (their node names, as far as PostgreSQL shows them).
        case gatewayNodesRunning([String])

        public var description: String {
            switch self {
            case .gatewayNodesRunning(let nodes):
                "\(nodes.count) gateway node(s) are connected to the database (\(nodes.joined(separator: ", "))): "
                    + "stop every node before rotating the master key"
            }
        }
    }

    /// Whether `key` is the master key of the database (its key check opens). A database without a key check yet
    /// answers false.
    public static func opens(_ database: PostgresDatabase, with key: MasterKey, logger: Logger) async throws -> Bool {
        let stored = try await database.read { connection -> Data? in
            let rows = try await connection.query("SELECT key_check FROM store_meta WHERE id = 1", logger: logger)
            for try await check in rows.decode(Data.self) { return check }
            return nil
        }
        return stored.map { StoreSecrets(masterKey: key).verifiesKeyCheck($0) } ?? false
    }

    /// Reseals the database from `old` to `new` in one transaction and audits it.
    /// - Throws: ``Refusal/gatewayNodesRunning(_:)``; ``ThreadStoreError/wrongMasterKey`` if `old` is not the
    ///   database's key (nothing changes); ``ThreadStoreError/unsealingFailed`` if a sealed value was altered
    ///   (nothing changes), except in the shared inbound spool: a spooled message that does not open is marked
    ///   damaged and the rotation goes on (``MasterKeyRotationSummary/damagedSpooledMessages``).
    public static func rotate(_ database: PostgresDatabase, from old: MasterKey, to new: MasterKey,
                              now: Date = Date(), logger: Logger) async throws -> MasterKeyRotationSummary {
        try await database.write { connection in
            try await connection.query("LOCK TABLE store_meta IN ACCESS EXCLUSIVE MODE", logger: logger)
            let running = try await connection.query("""
                SELECT application_name FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND application_name LIKE \(gatewayApplicationPrefix + "%")
                ORDER BY application_name
                """, logger: logger)
            var nodes: [String] = []
            for try await name in running.decode(String.self) {
                let node = String(name.dropFirst(gatewayApplicationPrefix.count + 1))
                if !nodes.contains(node) { nodes.append(node) }
            }
            guard nodes.isEmpty else { throw Refusal.gatewayNodesRunning(nodes) }

            let meta = try await connection.query(
                "SELECT key_check, lookup_keys_sealed, key_generation FROM store_meta WHERE id = 1", logger: logger)
            var found: (Data, Data?, Int)?
            for try await row in meta.decode((Data, Data?, Int).self) { found = row }
            guard let (keyCheck, lookupKeys, generation) = found else { throw ThreadStoreError.notAThreadStore }
            var secrets = StoreSecrets(masterKey: old)
            guard secrets.verifiesKeyCheck(keyCheck) else { throw ThreadStoreError.wrongMasterKey }
            if let lookupKeys { secrets = try secrets.withLookupKeys(sealed: lookupKeys) }
            let resealing = StoreResealing(from: secrets, to: new)
            let rows = PostgresResealingRows(connection: connection, resealing: resealing, logger: logger)

            var summary = MasterKeyRotationSummary()
            summary.threadKeys = try await rows.threadKeys()
            summary.outboxItems = try await rows.outbox()
            summary.accounts = try await rows.accounts()
            summary.rejectedMessages = try await rows.rejected()
            summary.gatewayKeys = try await rows.gatewayKeys()
            summary.sharedKeys = try await rows.sharedKeys()
            (summary.spooledMessages, summary.damagedSpooledMessages) = try await rows.inboundSpool()
            summary.generation = generation + 1
            try await connection.query("""
                UPDATE store_meta SET key_check = \(try resealing.keyCheck()),
                    lookup_keys_sealed = \(try resealing.lookupKeys()), key_generation = \(summary.generation)
                WHERE id = 1
                """, logger: logger)
            try await connection.query("""
                INSERT INTO audit (at, event, count) VALUES (\(StoreTime.milliseconds(now)),
                    \(AuditEvent.masterKeyRotated.rawValue), \(summary.threadKeys))
                """, logger: logger)
            return summary
        }
    }
}
