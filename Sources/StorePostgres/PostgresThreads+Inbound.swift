// Security: the pipeline's inbound steps on PostgreSQL (``InboundStore``), each one `SERIALIZABLE` transaction
// doing what the SQLite step does in the same order. PostgreSQL sees only what the SQLite file holds: sealed values
// (StoreSecrets), keyed HMACs, opaque IDs, codes and times. Nothing is logged but retries.

public import Foundation
import Logging
import PostgresNIO
public import ThreadStore

/// ``InboundStore`` on PostgreSQL. Atomic across nodes as the import is (``PostgresThreads``): every check-and-set
/// (a redirect, receipt, key request or notice limit; a `recordOnce` token; a kept rejected message; an awaited key
/// given) is a statement that locks its row or a read that `SERIALIZABLE` guards, so two nodes running the same
/// step at once come out as one after the other on SQLite.
extension PostgresThreads: InboundStore {
    public var limits: ThreadStore.Configuration { configuration }

    public func senderHMAC(canonicalAddress: String) -> SenderHMAC {
        secrets.senderHMAC(canonicalAddress: canonicalAddress)
    }

    public func importFromClient(_ step: ClientMessageImport) async throws -> ClientMessageImported {
        let index = try secrets.importIndex(step.message, limits: configuration)
        let (secrets, configuration, logger) = (self.secrets, self.configuration, self.logger)
        return try await retryingUniqueViolations {
            try await self.database.write { connection in
                let rows = PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock())
                if step.givesAwaitedKey { _ = try await rows.giveAwaitedKey(step.identity, secrets: secrets) }
                let lookup = secrets.lookup(step.identity)
                var message = step.message
                message.verdict = step.verdict(try await rows.keyStanding(lookup))
                let answered = try await rows.threadAnswered(secrets.messageIDHMACs(step.references), lookup)
                let outcome = try await PostgresImport(
                    secrets: secrets, configuration: configuration, message: message, index: index,
                    destination: answered.map { .thread($0) } ?? .client(step.identity), outbox: [], logger: logger
                ).run(on: connection)
                var notice: NoticeAction?
                var receiptQueued = false
                if case .stored(let thread, _, _) = outcome {
                    notice = try await rows.route(step.notice, newMessageIn: thread, secrets: secrets,
                                                  limits: configuration)
                    if message.verdict == .valid, let receipt = step.receipt,
                        try await rows.shouldSend(secrets.receiptKey(thread), now: receipt.time, period: receipt.period)
                    {
                        try await rows.audit(.receiptQueued, thread: thread)
                        try await rows.enqueue(receipt.item(in: thread), secrets: secrets, limits: configuration)
                        receiptQueued = true
                    }
                }
                return ClientMessageImported(outcome: outcome, verdict: message.verdict, notice: notice,
                                             receiptQueued: receiptQueued)
            }
        }
    }

    public func importAwaitingKey(_ step: AwaitingKeyMessageImport) async throws -> InboundImported {
        let index = try secrets.importIndex(step.message, limits: configuration)
        let (secrets, configuration, logger) = (self.secrets, self.configuration, self.logger)
        return try await retryingUniqueViolations {
            try await self.database.write { connection in
                let rows = PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock())
                let outcome = try await PostgresImport(
                    secrets: secrets, configuration: configuration, message: step.message, index: index,
                    destination: .awaitingKey(step.client), outbox: [], logger: logger
                ).run(on: connection)
                var notice: NoticeAction?
                var requested = false
                if case .stored(let thread, _, _) = outcome {
                    notice = try await rows.route(step.notice, newMessageIn: thread, secrets: secrets,
                                                  limits: configuration)
                    if let request = step.keyRequest,
                        try await rows.shouldSend(request.key, now: request.time, period: request.period)
                    {
                        try await rows.audit(.clientKeyRequested, thread: thread)
                        var item = request.item
                        item.thread = thread
                        try await rows.enqueue(item, secrets: secrets, limits: configuration)
                        requested = true
                    }
                }
                return InboundImported(outcome: outcome, notice: notice, keyRequestQueued: requested)
            }
        }
    }

    public func queueRedirect(_ item: NewOutboxItem, sender: SenderHMAC, now: Date, period: TimeInterval)
        async throws -> Bool
    {
        try await writing { rows, secrets, limits in
            guard try await rows.shouldSend(sender, now: now, period: period) else {
                try await rows.audit(.inboundRedirectSuppressed, thread: nil, count: 2)
                return false
            }
            try await rows.enqueue(item, secrets: secrets, limits: limits)
            try await rows.audit(.inboundRedirected, thread: nil)
            return true
        }
    }

    public func queueLimitedNotice(_ item: NewOutboxItem, key: SenderHMAC, now: Date, period: TimeInterval,
                                   recording: InboundRecord) async throws -> Bool {
        guard StoreSecrets.isInboundRecord(recording.event) else { throw ThreadStoreError(.invalidValue) }
        return try await writing { rows, secrets, limits in
            try await rows.audit(recording.event, thread: nil, count: recording.reason)
            guard try await rows.shouldSend(key, now: now, period: period) else { return false }
            try await rows.enqueue(item, secrets: secrets, limits: limits)
            return true
        }
    }

    public func queueNotice(_ item: NewOutboxItem, once token: String?, now: Date, period: TimeInterval)
        async throws -> Bool
    {
        try await writing { rows, secrets, limits in
            if let token, try await !rows.shouldSend(secrets.onceKey(token), now: now, period: period) {
                return false
            }
            try await rows.enqueue(item, secrets: secrets, limits: limits)
            return true
        }
    }

    public func keepRejected(_ message: RejectedMessage) async throws -> Bool {
        _ = try secrets.sealRejected(message, limits: configuration)  // the checks, before any connection
        return try await writing { rows, secrets, limits in
            try await rows.keepRejected(message, secrets: secrets, limits: limits)
        }
    }

    public func recordInbound(_ event: AuditEvent, reason: Int?) async throws {
        guard StoreSecrets.isInboundRecord(event) else { throw ThreadStoreError(.invalidValue) }
        try await writing { rows, _, _ in try await rows.audit(event, thread: nil, count: reason) }
    }

    public func registeredClientKey(field: CounsellingField, address: ClientAddress) async throws
        -> ClientKeyFingerprint?
    {
        let hmac = secrets.clientAddressHMAC(address)
        return try await reading { rows, secrets in
            try await rows.firstClient(field: field, addressHMAC: hmac, keyHMAC: nil,
                                       secrets: secrets)?.0
        }
    }

    public func firstAddress(ofKey key: ClientKeyFingerprint, field: CounsellingField) async throws
        -> ClientAddress?
    {
        let hmac = secrets.clientKeyHMAC(key)
        return try await reading { rows, secrets in
            try await rows.firstClient(field: field, addressHMAC: nil, keyHMAC: hmac,
                                       secrets: secrets)?.1
        }
    }

    // MARK: Helpers

    /// One `SERIALIZABLE` transaction on rows at the store's time.
    private func writing<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresThreadRows, StoreSecrets, ThreadStore.Configuration) async throws -> Result
    ) async throws -> Result {
        let (secrets, configuration, logger) = (self.secrets, self.configuration, self.logger)
        return try await database.write { connection in
            try await body(PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock()),
                           secrets, configuration)
        }
    }

    /// One read-only snapshot.
    private func reading<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresThreadRows, StoreSecrets) async throws -> Result
    ) async throws -> Result {
        let (secrets, configuration, logger) = (self.secrets, self.configuration, self.logger)
        return try await database.read { connection in
            try await body(PostgresThreadRows(connection: connection, logger: logger, now: configuration.clock()),
                           secrets)
        }
    }

    /// Runs `body` again after a unique violation (a concurrent node stored the same message first), as
    /// ``importMessage(_:into:queueing:)`` does.
    private func retryingUniqueViolations<Result: Sendable>(_ body: () async throws -> Result) async throws
        -> Result
    {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as PSQLError
                where error.code == .server && error.serverInfo?[.sqlState] == "23505"
                && attempt < Self.uniqueViolationAttempts
            {
                logger.debug("inbound step run again after a concurrent insert", metadata: ["attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }
}
