// Security: threads without a client key (issue 17). Their mail is stored like any other (sealed), but they are
// invisible to every lookup by key or address (``Queries/findThread``, ``ReadTransaction/keyStanding(of:)``,
// ``ReadTransaction/registeredClientKey(field:address:)``, ``ReadTransaction/firstAddress(ofKey:field:)``): an
// unverifiable signature must neither join a known client's thread nor register an address. Only a later message
// whose good signature is by the awaited key itself gives the thread its key.

import Crypto
public import Foundation
import GRDB

extension Queries {
    /// The keyed index of a thread without key: field, address and awaited signer, under a label of its own (no
    /// `client-key` HMAC can equal it).
    static func awaitingKeyHMAC(_ client: AwaitingKeyClient, context: TransactionContext) -> Data {
        let signer = client.signer?.hex ?? "unsigned"
        return context.keys.indexHMAC("awaiting-client-key", Data("\(signer)\u{0}\(client.address.matchingKey)".utf8))
    }

    /// The newest open (not closed) thread without key of `client`, or nil.
    static func findAwaitingKeyThread(_ db: Database, context: TransactionContext,
                                      client: AwaitingKeyClient) throws -> ThreadID? {
        let text = try String.fetchOne(
            db.cachedStatement(sql: """
                SELECT id FROM thread WHERE field = ? AND client_key_hmac = ? AND awaiting_key = 1 AND state != ?
                ORDER BY last_activity_at DESC, id DESC LIMIT 1
                """),
            arguments: [client.field.rawValue, awaitingKeyHMAC(client, context: context),
                        ThreadState.closed.rawValue])
        guard let text else { return nil }
        guard let id = try? ThreadID(text) else { throw ThreadStoreError.databaseCorrupt }
        return id
    }

    static func isAwaitingKey(_ db: Database, thread: ThreadID) throws -> Bool {
        guard let flag = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT awaiting_key FROM thread WHERE id = ?"), arguments: [thread.raw.text])
        else { throw ThreadStoreError.threadNotFound }
        return flag == 1
    }

    /// The thread's client key, or nil for a thread without key (whose sealed column holds the awaited signer).
    static func clientKey(_ db: Database, thread: ThreadID, sealed: String) throws -> ClientKeyFingerprint? {
        try isAwaitingKey(db, thread: thread) ? nil : try ClientKeyFingerprint(sealed)
    }
}

extension ReadTransaction {
    /// Whether `thread` has no client key yet.
    public func isAwaitingKey(_ thread: ThreadID) throws -> Bool { try Queries.isAwaitingKey(db, thread: thread) }

    /// The newest open thread without key of `client` (see ``AwaitingKeyClient``), or nil.
    public func awaitingKeyThread(_ client: AwaitingKeyClient) throws -> ThreadID? {
        try Queries.findAwaitingKeyThread(db, context: context, client: client)
    }
}

extension WriteTransaction {
    /// See ``ReadTransaction/isAwaitingKey(_:)``.
    public func isAwaitingKey(_ thread: ThreadID) throws -> Bool { try reader.isAwaitingKey(thread) }

    /// Gives the newest open thread without key that awaits `identity.key` from `identity.address` its key and
    /// returns it (nil: there is none). From then on it is an ordinary thread of that key and address; it joins
    /// the address's key history at this moment (`created_at` becomes now), so a key that arrives late cannot
    /// claim to be older than a key the address registered meanwhile (see ``ReadTransaction/keyStanding(of:)``).
    /// Audits ``AuditEvent/threadKeyReceived``.
    public func giveAwaitedKey(_ identity: ClientIdentity) throws -> ThreadID? {
        var found: ThreadID?
        for name in AwaitedSignerID.names(of: identity.key) where found == nil {
            found = try Queries.findAwaitingKeyThread(
                db, context: context,
                client: AwaitingKeyClient(field: identity.field, address: identity.address, signer: name))
        }
        guard let thread = found else { return nil }
        let dataKey = try Queries.dataKey(db, context: context, thread: thread)
        let sealedKey = try Sealing.sealString(identity.key.hex, key: dataKey,
                                               context: ThreadRecord.context("client_key_sealed", thread: thread))
        try db.cachedStatement(sql: """
            UPDATE thread SET awaiting_key = 0, client_key_hmac = ?, client_key_sealed = ?, client_address_hmac = ?,
                created_at = max(created_at, ?)
            WHERE id = ? AND awaiting_key = 1
            """).execute(arguments: [
                Queries.clientKeyHMAC(identity.key, context: context), sealedKey,
                Queries.clientAddressHMAC(identity.address, context: context), now.storeMilliseconds,
                thread.raw.text,
            ])
        try AuditLog.append(db, at: now, event: .threadKeyReceived, thread: thread)
        return thread
    }

    /// Atomically decides whether the "please send your public key" notice may go to a client address and, if so,
    /// records it (as ``shouldSendRedirect(to:now:period:)``, in a key space of its own: a redirect does not use
    /// up the key request, nor the other way round). Audits ``AuditEvent/clientKeyRequested`` when it may.
    public func shouldRequestClientKey(for address: SenderHMAC, thread: ThreadID, now: Date,
                                       period: TimeInterval) throws -> Bool {
        guard try RateLimit.shouldSend(db, sender: address, now: now, period: period) else { return false }
        try AuditLog.append(db, at: self.now, event: .clientKeyRequested, thread: thread)
        return true
    }
}

extension ThreadStore {
    /// The keyed HMAC of a canonical client address for the key-request rate limit
    /// (``WriteTransaction/shouldRequestClientKey(for:thread:now:period:)``): another value than
    /// ``senderHMAC(canonicalAddress:)`` gives for the same address (a NUL cannot occur in an address).
    public func keyRequestHMAC(canonicalAddress: String) -> SenderHMAC {
        SenderHMAC(bytes: RateLimit.hmac(canonicalAddress: "key-request\u{0}\(canonicalAddress)", keys: keys))
    }
}
