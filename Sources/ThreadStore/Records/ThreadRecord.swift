import Foundation
import GRDB

/// One `thread` row, as stored (sealed columns still sealed).
struct ThreadRecord {
    var id: ThreadID
    var field: CounsellingField
    var clientKeyHMAC: Data
    var clientKeySealed: Data
    var clientAddressSealed: Data
    var state: ThreadState
    var createdAt: Int64
    var lastActivityAt: Int64

    static let columns =
        "id, field, client_key_hmac, client_key_sealed, client_address_sealed, state, created_at, last_activity_at"

    init(
        id: ThreadID,
        field: CounsellingField,
        clientKeyHMAC: Data,
        clientKeySealed: Data,
        clientAddressSealed: Data,
        state: ThreadState,
        createdAt: Int64,
        lastActivityAt: Int64
    ) {
        self.id = id
        self.field = field
        self.clientKeyHMAC = clientKeyHMAC
        self.clientKeySealed = clientKeySealed
        self.clientAddressSealed = clientAddressSealed
        self.state = state
        self.createdAt = createdAt
        self.lastActivityAt = lastActivityAt
    }

    /// Decodes a row selected with ``columns``. A malformed row means the file was altered: corrupt.
    init(row: Row) throws(ThreadStoreError) {
        guard let id = try? ThreadID(row["id"] as String), let field = try? CounsellingField(row["field"] as String),
            let state = ThreadState(rawValue: row["state"])
        else { throw .databaseCorrupt }
        self.id = id
        self.field = field
        clientKeyHMAC = row["client_key_hmac"]
        clientKeySealed = row["client_key_sealed"]
        clientAddressSealed = row["client_address_sealed"]
        self.state = state
        createdAt = row["created_at"]
        lastActivityAt = row["last_activity_at"]
    }

    func insert(_ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO thread (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").execute(
            arguments: [
                id.unredactedDescription, field.rawValue, clientKeyHMAC, clientKeySealed, clientAddressSealed,
                state.rawValue, createdAt, lastActivityAt,
            ]
        )
    }

    static func fetch(_ db: Database, id: ThreadID) throws -> ThreadRecord? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(columns) FROM thread WHERE id = ?"),
                arguments: [id.raw.text]
            )
        else { return nil }
        return try ThreadRecord(row: row)
    }

    /// The seal context of a thread column.
    static func context(_ column: String, thread: ThreadID) -> SealContext {
        SealContext(table: "thread", column: column, threadID: thread.unredactedDescription, rowID: "")
    }
}
