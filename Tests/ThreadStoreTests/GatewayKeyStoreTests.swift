import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// The `gateway_key` table (issue 20): one current key per mailbox, rotation into the overlap, retirement when the
/// overlap ends, revocation with a sealed reason, the revocation certificate sealed and bound to its key, and an
/// audit row for every change.
@Suite struct GatewayKeyStoreTests {
    static let mailbox = "beratung@example.org"
    static let certificate = Data("-----BEGIN PGP PUBLIC KEY BLOCK-----\nREVOCATIONCANARY1234567890\n".utf8)

    func key(_ digit: Character, mailbox: String = mailbox, certificate: Data? = certificate) -> NewGatewayKey {
        NewGatewayKey(fingerprint: try! KeyFingerprint(String(repeating: digit, count: 40)), mailbox: mailbox,
                      createdAt: Date(timeIntervalSince1970: 1_800_000_000), expiresAt: nil,
                      revocationCertificate: certificate)
    }

    @Test func lifecycleIsRecordedAndAudited() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let (a, b, c) = (key("A"), key("B"), key("C"))
        try await store.write { try $0.registerGatewayKey(a) }
        // A second current key for the mailbox or a known fingerprint are refused (a malformed one is no
        // `KeyFingerprint`).
        await #expect(throws: ThreadStoreError.self) { try await store.write { try $0.registerGatewayKey(b) } }
        await #expect(throws: ThreadStoreError.self) {
            try await store.write { try $0.registerGatewayKey(self.key("A", mailbox: "jugend@example.org")) }
        }
        try await store.write { try $0.registerGatewayKey(self.key("D", mailbox: "jugend@example.org")) }

        let until = fixture.clock.now.addingTimeInterval(90 * 86_400)
        try await store.write(via: .commandLine) { try $0.rotateGatewayKey(b, overlapUntil: until) }
        var keys = try await store.read { try $0.gatewayKeys(mailbox: Self.mailbox) }
        #expect(keys.map(\.state) == [.overlap, .current])
        #expect(keys.first?.overlapUntil == until)

        // Retirement: nothing before the overlap ends, the overlap key at its end.
        #expect(try await store.write { try $0.retireGatewayKeys(now: until.addingTimeInterval(-1)) }.isEmpty)
        let retired = try await store.write { try $0.retireGatewayKeys(now: until) }
        #expect(retired.map(\.fingerprint) == [a.fingerprint])
        keys = try await store.read { try $0.gatewayKeys(mailbox: Self.mailbox) }
        #expect(keys.map(\.state) == [.retired, .current])

        // Revoking the current key needs a replacement; the reason is kept sealed.
        await #expect(throws: ThreadStoreError.self) {
            try await store.write { try $0.revokeGatewayKey(b.fingerprint, reason: "x", replacement: nil) }
        }
        try await store.write { try $0.revokeGatewayKey(b.fingerprint, reason: "REASONCANARY", replacement: c) }
        keys = try await store.read { try $0.gatewayKeys(mailbox: Self.mailbox) }
        #expect(keys.map(\.state) == [.retired, .revoked, .current])
        #expect(try await store.read { try $0.gatewayKeyRevocationReason(b.fingerprint) } == "REASONCANARY")
        #expect(try await store.read { try $0.gatewayKeyRevocationReason(c.fingerprint) } == nil)
        // A retired key can be revoked without replacement; a revoked one not again.
        try await store.write { try $0.revokeGatewayKey(a.fingerprint, reason: "alt", replacement: nil) }
        await #expect(throws: ThreadStoreError.self) {
            try await store.write { try $0.revokeGatewayKey(a.fingerprint, reason: "alt", replacement: nil) }
        }

        try await store.write {
            try $0.recordGatewayKeyExpiry(c.fingerprint, expiresAt: until, now: fixture.clock.now)
        }
        #expect(try await store.read { try $0.gatewayKey(c.fingerprint) }?.expiresAt == until)

        let audit = try await store.read { try $0.auditEntries() }.filter { (60...63).contains($0.event.rawValue) }
        #expect(audit.map(\.event) == [.gatewayKeyRotated, .gatewayKeyRetired, .gatewayKeyRevoked,
                                       .gatewayKeyRotated, .gatewayKeyRevoked, .gatewayKeyExpiryExtended])
        #expect(audit.map(\.itemID) == [b, a, b, c, a, c].map(\.fingerprint.hex))
        #expect(audit.first?.channel == .commandLine)
        #expect(audit.last?.count == 90)
        try store.close()
    }

    @Test func revocationCertificateIsSealedAndBoundToItsKey() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        try await store.write { try $0.registerGatewayKey(self.key("A")) }
        try await store.write { try $0.registerGatewayKey(self.key("B", mailbox: "jugend@example.org")) }
        let fingerprint = try KeyFingerprint(String(repeating: "A", count: 40))
        #expect(try await store.read { try $0.gatewayKeyRevocationCertificate(fingerprint) } == Self.certificate)
        #expect(try await store.read { try $0.gatewayKey(fingerprint) }?.hasRevocationCertificate == true)
        try store.close()
        #expect(!fixture.filesContain(Data("REVOCATIONCANARY".utf8)))

        // A certificate copied onto another key's row does not open.
        let other = try KeyFingerprint(String(repeating: "B", count: 40))
        let queue = try DatabaseQueue(path: fixture.databaseURL.path)
        try await queue.write { db in
            try db.execute(sql: """
                UPDATE gateway_key SET sealed_revocation =
                    (SELECT sealed_revocation FROM gateway_key WHERE fingerprint = ?) WHERE fingerprint = ?
                """, arguments: [fingerprint.hex, other.hex])
        }
        try queue.close()
        let reopened = try fixture.open()
        await #expect(throws: ThreadStoreError.self) {
            _ = try await reopened.read { try $0.gatewayKeyRevocationCertificate(other) }
        }
        #expect(try await reopened.read { try $0.gatewayKeyRevocationCertificate(fingerprint) } == Self.certificate)
        try reopened.close()
    }

    /// A fingerprint column that is not a fingerprint as the store writes it (upper-case hex, 40 or 64 digits),
    /// put there past the CHECK constraint as a damaged or hand-edited file could hold it, is reported as
    /// ``ThreadStoreError/databaseCorrupt`` by every read that meets it: never skipped, never a crash. The other
    /// mailbox's key still reads, and a master key rotation that meets the row changes nothing.
    @Test(arguments: ["NOT-A-FINGERPRINT", String(repeating: "a", count: 40), String(repeating: "AAAA ", count: 10),
                      ""])
    func unparsableStoredFingerprintIsAClearError(stored: String) async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        try await store.write { try $0.registerGatewayKey(self.key("A")) }
        try store.close()
        let queue = try DatabaseQueue(path: fixture.databaseURL.path)
        try await queue.write { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: """
                INSERT INTO gateway_key (fingerprint, mailbox, state, created_at, sealed_revocation)
                VALUES (?, 'jugend@example.org', 1, 0, x'00')
                """, arguments: [stored])
        }
        try queue.close()

        let reopened = try fixture.open()
        await #expect(throws: ThreadStoreError.databaseCorrupt) { try await reopened.read { try $0.gatewayKeys() } }
        await #expect(throws: ThreadStoreError.databaseCorrupt) {
            try await reopened.read { try $0.gatewayKeys(mailbox: "jugend@example.org") }
        }
        await #expect(throws: ThreadStoreError.databaseCorrupt) {
            try await reopened.write { try $0.retireGatewayKeys(now: .distantFuture) }
        }
        let good = try KeyFingerprint(String(repeating: "A", count: 40))
        #expect(try await reopened.read { try $0.gatewayKeys(mailbox: Self.mailbox) }.map(\.fingerprint) == [good])
        #expect(try await reopened.read { try $0.gatewayKey(good) }?.state == .current)
        try reopened.close()

        await #expect(throws: ThreadStoreError.databaseCorrupt) {
            try await ThreadStore.rotateMasterKey(at: fixture.databaseURL, from: fixture.masterKey, to: .generate())
        }
        let unchanged = try fixture.open()
        #expect(try await unchanged.keyGeneration() == 1)
        #expect(try await unchanged.read { try $0.gatewayKeyRevocationCertificate(good) } == Self.certificate)
        try unchanged.close()
    }
}
