import Foundation
import MailValues
import Testing
import ThreadStore

@testable import StorePostgres

/// The gateway keys' lifecycle records (``GatewayKeyStore``) on SQLite and on PostgreSQL (also under the gateway's
/// role), with the same states, errors and audit rows (issue 21).
@Suite struct GatewayKeyConformanceTests {
    static let engines = InboundEngines.engines
    let t0 = ImportEngines.start
    let mailbox = "beratung@example.org"

    func ledgers(_ engine: InboxEngineUnderTest) -> [any GatewayKeyStore] {
        if let sqlite = engine.inbound.keepAlive as? SQLiteImport {
            return [ThreadStoreGatewayKeys(sqlite.threads.store), ThreadStoreGatewayKeys(sqlite.threads.store)]
        }
        return (engine.inbound.keepAlive as! PostgresImportNodes).threads
    }

    func key(_ number: Int, mailbox: String? = nil, certificate: String? = nil) -> NewGatewayKey {
        NewGatewayKey(fingerprint: try! KeyFingerprint(String(format: "%040X", 0xABC000 + number)),
                      mailbox: mailbox ?? self.mailbox, createdAt: t0.addingTimeInterval(Double(number)),
                      expiresAt: t0.addingTimeInterval(86_400 * 365),
                      revocationCertificate: certificate.map { Data($0.utf8) })
    }

    @Test(arguments: engines)
    func aMailboxKeyIsRotatedRetiredExtendedAndRevoked(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let (ledger, other) = (ledgers(engine)[0], ledgers(engine)[1])
        try await ledger.registerGatewayKey(key(1, certificate: "REVOCATION ONE"))
        await #expect(throws: ThreadStoreError.self, "a second current key") {
            try await other.registerGatewayKey(key(2))
        }
        await #expect(throws: ThreadStoreError.self, "a known key") {
            try await other.registerGatewayKey(key(1, mailbox: "andere@example.org"))
        }
        #expect(try await other.gatewayKeyRevocationCertificate(key(1).fingerprint) == Data("REVOCATION ONE".utf8))
        #expect(try await other.gatewayKeyRevocationCertificate(key(9).fingerprint) == nil, "\(name)")

        let overlap = t0.addingTimeInterval(86_400)
        try await other.rotateGatewayKey(key(2, certificate: "REVOCATION TWO"), overlapUntil: overlap,
                                         via: .commandLine)
        var records = try await ledger.gatewayKeys(mailbox: mailbox)
        #expect(records.map(\.state) == [.overlap, .current] && records[0].overlapUntil == overlap, "\(name)")
        #expect(records.map(\.hasRevocationCertificate) == [true, true] && records[1].createdAt == key(2).createdAt)
        #expect(try await ledger.retireGatewayKeys(now: overlap.addingTimeInterval(-1)).isEmpty, "\(name)")
        #expect(try await ledger.retireGatewayKeys(now: overlap).map(\.fingerprint) == [key(1).fingerprint])

        let extended = t0.addingTimeInterval(86_400 * 400)
        try await ledger.recordGatewayKeyExpiry(key(2).fingerprint, expiresAt: extended, now: t0)
        await #expect(throws: ThreadStoreError.self) {
            try await ledger.recordGatewayKeyExpiry(key(9).fingerprint, expiresAt: extended, now: t0)
        }

        // Revoking the current key without a replacement is refused and changes nothing.
        await #expect(throws: ThreadStoreError.self) {
            try await ledger.revokeGatewayKey(key(2).fingerprint, reason: "lost", replacement: nil, via: .commandLine)
        }
        try await ledger.revokeGatewayKey(key(2).fingerprint, reason: "laptop stolen", replacement: key(3),
                                          via: .commandLine)
        try await other.revokeGatewayKey(key(1).fingerprint, reason: "old", replacement: nil, via: .commandLine)
        await #expect(throws: ThreadStoreError.self, "revoked twice") {
            try await other.revokeGatewayKey(key(1).fingerprint, reason: "again", replacement: nil, via: .commandLine)
        }
        records = try await ledger.gatewayKeys()
        #expect(records.map(\.state) == [.revoked, .revoked, .current], "\(name)")
        #expect(records[1].expiresAt == extended && records[0].retiredAt == overlap, "\(name)")
        #expect(records.map(\.hasRevocationCertificate) == [true, true, false], "\(name)")

        let (rotated, retired, revoked, extendedEvent) = (
            AuditEvent.gatewayKeyRotated.rawValue, AuditEvent.gatewayKeyRetired.rawValue,
            AuditEvent.gatewayKeyRevoked.rawValue, AuditEvent.gatewayKeyExpiryExtended.rawValue)
        #expect(try await engine.accessAudit() == [
            "\(rotated)/-/I/-/3", "\(retired)/-/I/-/-", "\(extendedEvent)/400/I/-/-",
            "\(revoked)/-/I/-/3", "\(rotated)/-/I/-/3", "\(revoked)/-/I/-/3",
        ], "\(name)")
        if let nodes = engine.inbound.keepAlive as? PostgresImportNodes {
            let table = try nodes.psql("SELECT encode(sealed_revocation, 'escape') || encode(coalesce(sealed_reason, ''), 'escape') FROM gateway_key")
            #expect(!table.contains("REVOCATION") && !table.contains("stolen"), "sealed")
        }
    }

    @Test(arguments: engines)
    func twoNodesRegisteringAFirstKeyAtOnceEndWithOne(engine name: String) async throws {
        let engine = try await InboxEngineUnderTest.engine(name)
        let ledgers = ledgers(engine)
        let results = await withTaskGroup(of: Bool.self) { group in
            for number in 1...6 {
                let ledger = ledgers[number % 2]
                let key = key(number)
                group.addTask { (try? await ledger.registerGatewayKey(key)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1, "\(name): \(results)")
        let records = try await ledgers[0].gatewayKeys(mailbox: mailbox)
        #expect(records.count == 1 && records[0].state == .current, "\(name)")
    }
}
