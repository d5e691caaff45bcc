import Foundation
import GRDB

/// Whether a client key is the one registered for a client address in a counselling field: the first key the
/// address wrote with, or a later key a counsellor confirmed (``WriteTransaction/confirmClientKeyChange(of:actor:)``).
/// A signature can only be "valid" by a registered key; anything else is a key change to confirm.
public enum ClientKeyStanding: Hashable, Sendable {
    /// No thread of the field holds the address with another key, or this key's thread came first, or a
    /// counsellor confirmed the change to it.
    case registered
    /// The address already belongs to another key in this field, and nobody confirmed this one.
    case unconfirmedChange
}

extension ReadTransaction {
    /// The standing of `client.key` for `client.address` in `client.field`. Decrypts nothing (keyed HMACs only).
    public func keyStanding(of client: ClientIdentity) throws -> ClientKeyStanding {
        let field = client.field.rawValue
        let key = Queries.clientKeyHMAC(client.key, context: context)
        let address = Queries.clientAddressHMAC(client.address, context: context)
        let own = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT min(created_at) AS first, max(key_change_confirmed_at IS NOT NULL) AS confirmed
                FROM thread WHERE field = ? AND client_address_hmac = ? AND client_key_hmac = ?
                """),
            arguments: [field, address, key])
        if let own, (own["confirmed"] as Int64?) == 1 { return .registered }
        let firstOwn = own?["first"] as Int64?
        // Another key's thread for this address that is older than this key's first thread (or any, if this key
        // has none yet) means the address was registered with that other key first.
        let earlierOther = try Bool.fetchOne(
            db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM thread WHERE field = ? AND client_address_hmac = ?
                    AND client_key_hmac != ? AND (? IS NULL OR created_at < ?))
                """),
            arguments: [field, address, key, firstOwn, firstOwn]) ?? false
        return earlierOther ? .unconfirmedChange : .registered
    }
}

extension WriteTransaction {
    /// See ``ReadTransaction/keyStanding(of:)``.
    public func keyStanding(of client: ClientIdentity) throws -> ClientKeyStanding {
        try reader.keyStanding(of: client)
    }
}

extension ReadTransaction {
    /// The client key registered for `address` in `field` (see ``ClientKeyStanding``): the key of the thread a
    /// counsellor confirmed most recently, else the key of the address's first thread; nil if it has none.
    /// Decrypts one thread's key column.
    public func registeredClientKey(field: CounsellingField, address: ClientAddress) throws -> ClientKeyFingerprint? {
        let sql = """
            SELECT id FROM thread WHERE field = ? AND client_address_hmac = ?
            ORDER BY key_change_confirmed_at IS NULL, key_change_confirmed_at DESC, created_at, id LIMIT 1
            """
        let arguments: StatementArguments = [field.rawValue, Queries.clientAddressHMAC(address, context: context)]
        return try openingFirstThread(sql, arguments, column: "client_key_sealed") { record in record.clientKeySealed }
            .map(ClientKeyFingerprint.init)
    }

    /// The address of the first thread of `key` in `field` (the address its owner first wrote from), or nil.
    public func firstAddress(ofKey key: ClientKeyFingerprint, field: CounsellingField) throws -> ClientAddress? {
        let sql = "SELECT id FROM thread WHERE field = ? AND client_key_hmac = ? ORDER BY created_at, id LIMIT 1"
        let arguments: StatementArguments = [field.rawValue, Queries.clientKeyHMAC(key, context: context)]
        return try openingFirstThread(sql, arguments, column: "client_address_sealed") { $0.clientAddressSealed }
            .map { try ClientAddress($0) }
    }

    /// Runs `sql` (selecting one thread ID) and opens one sealed column of that thread's row with its data key.
    private func openingFirstThread(_ sql: String, _ arguments: StatementArguments, column: String,
                                    _ sealed: (ThreadRecord) -> Data) throws -> String? {
        guard let text = try String.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) else { return nil }
        guard let id = try? ThreadID(text), let record = try ThreadRecord.fetch(db, id: id) else {
            throw ThreadStoreError.databaseCorrupt
        }
        let key = try Queries.dataKey(db, context: context, thread: id)
        return try Sealing.openString(sealed(record), key: key, context: ThreadRecord.context(column, thread: id))
    }
}
