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
