// Security: threads and the inbound import on PostgreSQL, for several gateway nodes (issue 21). PostgreSQL sees
// what SQLite sees: messages, attachments and the client's key and address sealed with the thread's data key by
// ThreadStore's own code (StoreSecrets), the data key wrapped under the master key, keyed HMACs (Message-ID,
// content, client key, client address, replay fingerprints), opaque IDs, codes, sizes and times. No crypto here.

public import Foundation
public import Logging
import PostgresNIO
public import ThreadStore

/// ``ImportStore`` on PostgreSQL: any node may import any message.
///
/// Each import is one ``PostgresDatabase/write(_:)`` transaction (`SERIALIZABLE`, run again after a serialization
/// failure), doing what ``WriteTransaction/importMessage(_:into:)`` does on SQLite in the same order. Atomic across
/// nodes:
/// - Two nodes importing the same message at once: both find no duplicate, both insert; the unique key
///   `message (thread_id, message_id_hmac, content_hmac)` lets one commit, the other fails (serialization failure or
///   unique violation) and is run again, finds the stored row and returns ``ImportOutcome/duplicate(_:_:)``.
/// - The same replay fingerprint from two nodes: the second `INSERT … ON CONFLICT` waits for the first's row and
///   then fails to serialize; run again, it sees the fingerprint and returns ``ImportOutcome/replayedCiphertext``.
/// - Two first messages of a new client: each reads "no thread" and inserts one. The read and the other's insert
///   form a read-write dependency in both directions, which `SERIALIZABLE` refuses: one fails, is run again, and
///   finds the other's thread. No unique constraint could say this (a client may have several closed threads).
///
/// ```swift
/// let database = try PostgresDatabase(endpoint, logger: logger)
/// async let running: Void = database.run()
/// let threads = try await PostgresThreads.open(database, masterKey: key, logger: logger)
/// let outcome = try await threads.importMessage(message, into: .client(identity), queueing: [receipt])
/// ```
public final class PostgresThreads: ImportStore {
    /// How often an import is run again after a unique violation (a concurrent node stored the same message first;
    /// serialization failures are retried by ``PostgresDatabase`` itself).
    static let uniqueViolationAttempts = 3
    let database: PostgresDatabase
    let secrets: StoreSecrets
    /// The organisations' keys in force (issue 29).
    public var organisationKeys: OrganisationKeys { secrets.organisationKeys }
    let configuration: ThreadStore.Configuration
    let logger: Logger

    init(database: PostgresDatabase, secrets: StoreSecrets, configuration: ThreadStore.Configuration,
         logger: Logger) {
        self.database = database
        self.secrets = secrets
        self.configuration = configuration
        self.logger = logger
    }

    /// Checks the master key against the database's key check (writing it into an empty database) and loads the
    /// lookup keys a rotation sealed, as ``PostgresWebState/open(_:masterKey:clock:logger:)`` does. The limits and
    /// the clock (audit times) are `configuration`'s, as on SQLite; the schema must be migrated and `database`
    /// running.
    /// - Throws: ``ThreadStoreError/wrongMasterKey`` when the database was created with another master key.
    public static func open(
        _ database: PostgresDatabase, masterKey: MasterKey,
        configuration: ThreadStore.Configuration = ThreadStore.Configuration(), logger: Logger
    ) async throws -> PostgresThreads {
        let state = try await PostgresWebState.open(database, masterKey: masterKey, clock: configuration.clock,
                                                    organisationKeys: configuration.organisationKeys, logger: logger)
        return PostgresThreads(database: database, secrets: state.secrets, configuration: configuration,
                               logger: logger)
    }

    public func importMessage(_ message: NewMessage, into destination: ImportDestination,
                              queueing outbox: [NewOutboxItem]) async throws -> ImportOutcome {
        let index = try secrets.importIndex(message, limits: configuration)
        let transaction = PostgresImport(secrets: secrets, configuration: configuration, message: message,
                                         index: index, destination: destination, outbox: outbox, logger: logger)
        var attempt = 1
        while true {
            do {
                return try await database.write { connection in try await transaction.run(on: connection) }
            } catch let error as PSQLError
                where error.code == .server && error.serverInfo?[.sqlState] == "23505"
                && attempt < Self.uniqueViolationAttempts
            {
                logger.debug("import run again after a concurrent insert", metadata: ["attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }

    public func replaySeenBefore(_ fingerprint: ReplayFingerprint) async throws -> Bool {
        let hash = StoreSecrets.storedBytes(fingerprint)
        let logger = self.logger
        return try await database.read { connection in
            let rows = try await connection.query("SELECT 1 FROM seen_ciphertext WHERE hash = \(hash)",
                                                  logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }

    public func replayFingerprint(_ kind: ReplayFingerprint.Kind, _ material: [UInt8]) -> ReplayFingerprint {
        secrets.replayFingerprint(kind, material)
    }
}
