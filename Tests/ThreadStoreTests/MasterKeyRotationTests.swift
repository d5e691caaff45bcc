import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// `ThreadStore.rotateMasterKey`: everything sealed under the master key is resealed in one transaction; the old
/// key opens nothing afterwards; lookups (HMACs) keep working across rotations.
@Suite struct MasterKeyRotationTests {
    /// A store with a thread per client, a thread-less outbox item, an account with a TOTP secret and a
    /// notification address, and a kept rejected message. Returns the thread IDs.
    static func populate(_ store: ThreadStore, threads: Int, at date: Date) async throws -> [ThreadID] {
        var ids: [ThreadID] = []
        for number in 1...threads {
            let id = try await store.write { tx in
                try tx.importMessage(Sample.message("m\(number)", body: "body \(number)", at: date,
                                                    ciphertext: "ct-\(number)"),
                                     into: .client(Sample.identity(number)))
            }.storedThread!
            ids.append(id)
        }
        try await store.write { tx in
            try tx.enqueueOutbox(NewOutboxItem(
                thread: nil, kind: .redirectReply, recipient: try ClientAddress("plain@example.org"),
                payload: Array("redirect payload".utf8), notBefore: date))
            let account = try tx.createAccount(
                NewAccount(username: "anna", displayName: "Anna", role: .counsellor, language: .german,
                           fields: [Sample.field], passwordHash: "$2b$04$" + String(repeating: "a", count: 53)),
                actor: nil)
            try tx.enrolSecondFactor(secret: "TOTPSECRETTOTPSECRET", acceptedStep: 1, for: account)
            try tx.setNotificationSettings(NotificationSettings(address: try ClientAddress("anna@example.org")),
                                           of: account, actor: nil)
            try tx.keepRejected(RejectedMessage(id: "r1", reason: 1, rejectedAt: date, envelope: Data("env".utf8),
                                                message: Data("rejected body".utf8)))
            // A gateway key with its revocation certificate, replaced and then revoked with a reason (both sealed).
            try tx.registerGatewayKey(NewGatewayKey(
                fingerprint: Self.gatewayKey, mailbox: "beratung@example.org", createdAt: date, expiresAt: nil,
                revocationCertificate: Data("revocation certificate".utf8)))
            try tx.rotateGatewayKey(NewGatewayKey(
                fingerprint: try KeyFingerprint(String(repeating: "B2", count: 20)), mailbox: "beratung@example.org",
                createdAt: date, expiresAt: nil, revocationCertificate: nil),
                overlapUntil: date.addingTimeInterval(86_400))
            try tx.revokeGatewayKey(Self.gatewayKey, reason: "key file leaked", replacement: nil)
        }
        return ids
    }

    static let gatewayKey = try! KeyFingerprint(String(repeating: "A1", count: 20))

    @Test func rotationResealsEverythingAndTheOldKeyOpensNothing() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let threads = try await Self.populate(store, threads: 5, at: fixture.clock.now)
        try store.close()

        let newKey = MasterKey.generate()
        let summary = try await ThreadStore.rotateMasterKey(
            at: fixture.databaseURL, from: fixture.masterKey, to: newKey)
        #expect(summary.threadKeys == 5)
        #expect(summary.outboxItems == 1)
        #expect(summary.accounts == 1)
        #expect(summary.rejectedMessages == 1)
        #expect(summary.gatewayKeys == 1)
        #expect(summary.generation == 2)

        #expect(throws: ThreadStoreError.wrongMasterKey) { try fixture.open() }
        await #expect(throws: ThreadStoreError.wrongMasterKey) {
            try await ThreadStore.rotateMasterKey(at: fixture.databaseURL, from: fixture.masterKey, to: .generate())
        }
        let rotated = try fixture.open(key: newKey)
        #expect(try await rotated.keyGeneration() == 2)
        for (index, thread) in threads.enumerated() {
            let opened = try await rotated.read { tx in try tx.openThread(thread) }
            #expect(opened.messages.first?.body == Array("body \(index + 1)".utf8))
        }
        let due = try await rotated.write { tx in try tx.dueOutboxItems(now: Date.distantFuture) }
        #expect(due.map(\.payload) == [Array("redirect payload".utf8)])
        let login = try await rotated.read { tx in try tx.loginCredentials(username: "anna") }
        #expect(login?.totpSecret == "TOTPSECRETTOTPSECRET")
        let account = try #require(login?.account.id)
        let settings = try await rotated.read { tx in try tx.noticeTarget(of: account) }
        #expect(settings?.address == (try ClientAddress("anna@example.org")))
        let rejected = try await rotated.read { tx in try tx.openRejected("r1") }
        #expect(rejected?.message == Data("rejected body".utf8))
        let certificate = try await rotated.read { tx in try tx.gatewayKeyRevocationCertificate(Self.gatewayKey) }
        #expect(certificate == Data("revocation certificate".utf8))
        let reason = try await rotated.read { tx in try tx.gatewayKeyRevocationReason(Self.gatewayKey) }
        #expect(reason == "key file leaked")

        // Lookups keep working: the same client finds its thread, the same ciphertext is a replay, the same
        // message is a duplicate.
        #expect(try await rotated.read { tx in try tx.findThread(client: Sample.identity(1)) } == threads[0])
        let again = try await rotated.write { tx in
            try tx.importMessage(Sample.message("m1", body: "body 1", at: fixture.clock.now, ciphertext: "ct-1"),
                                 into: .client(Sample.identity(1)))
        }
        #expect(again.storedThread == nil, "an import already stored is not stored again after a rotation")
        #expect(try await rotated.read { tx in try tx.auditEntries() }.contains { $0.event == .masterKeyRotated })
        try rotated.close()

        // A second rotation: generation 3; the first two keys open nothing.
        let third = MasterKey.generate()
        _ = try await ThreadStore.rotateMasterKey(at: fixture.databaseURL, from: newKey, to: third)
        #expect(throws: ThreadStoreError.wrongMasterKey) { try fixture.open(key: newKey) }
        #expect(throws: ThreadStoreError.wrongMasterKey) { try fixture.open() }
        let last = try fixture.open(key: third)
        #expect(try await last.keyGeneration() == 3)
        #expect(try await last.verifyThreadKeys() == (checked: 5, failed: 0))
        #expect(try await last.read { tx in try tx.findThread(client: Sample.identity(5)) } == threads[4])
        try last.close()
    }

    @Test func storedCodesOfTheDisasterRecoveryEvents() {
        #expect(AuditEvent.masterKeyRotated.rawValue == 64)
        #expect(AuditEvent.backupRestored.rawValue == 65)
    }

    /// Every sealed column of the schema is either sealed with a thread's data key (rewrapping the key covers
    /// it) or resealed by the rotation. A new sealed column fails here until one of the two lists names it.
    @Test func everySealedColumnIsCoveredByTheRotation() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        try store.close()
        let threadKeySealed: Set = [
            "thread.client_key_sealed", "thread.client_address_sealed", "message.header_message_id_sealed",
            "message.subject_sealed", "message.body_sealed", "message.signer_sealed", "attachment.name_sealed",
            "attachment.media_type_sealed", "attachment.content_sealed", "outbox.recipient_sealed",
            "outbox.payload_sealed", "thread_key.wrapped_key",
        ]
        let resealed: Set = [
            "outbox.recipient_sealed", "outbox.payload_sealed", "account.totp_secret_sealed",
            "account.notify_address_sealed", "rejected_message.sealed_envelope", "rejected_message.sealed_message",
            "store_meta.key_check", "store_meta.lookup_keys_sealed", "gateway_key.sealed_revocation",
            "gateway_key.sealed_reason",
        ]
        // Sealed under an organisation's own key (issue 29), which the installation's rotation does not touch.
        let organisationSealed: Set = ["organisation_key.key_check"]
        let queue = try DatabaseQueue(path: fixture.databaseURL.path)
        let sealedColumns = try await queue.read { db in
            var found: [String] = []
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") {
                for column in try db.columns(in: table) where column.name.contains("sealed")
                    || column.name == "wrapped_key" || column.name == "key_check" {
                    found.append("\(table).\(column.name)")
                }
            }
            return found
        }
        #expect(!sealedColumns.isEmpty)
        for column in sealedColumns {
            #expect(threadKeySealed.contains(column) || resealed.contains(column) || organisationSealed.contains(column),
                    "\(column) is sealed but neither thread-key sealed nor resealed by a master key rotation")
        }
    }
}
