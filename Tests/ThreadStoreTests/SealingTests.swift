import Foundation
import GRDB
import Testing
@testable import ThreadStore

@Suite struct SealingTests {
    @Test func sealedValueMovedToAnotherRowFailsToOpen() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = try await store.write { tx in
            let first = try tx.importMessage(
                Sample.message("s1", body: "first", at: Date()),
                into: .client(Sample.identity())
            )
            _ = try tx.importMessage(Sample.message("s2", body: "second", at: Date()), into: .client(Sample.identity()))
            return first.storedThread!
        }
        // Swap the sealed bodies of the two messages of the same thread (same data key).
        try await store.pool.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, body_sealed FROM message ORDER BY id")
            try db.execute(
                sql: "UPDATE message SET body_sealed = ? WHERE id = ?",
                arguments: [rows[1]["body_sealed"] as Data, rows[0]["id"] as String]
            )
            try db.execute(
                sql: "UPDATE message SET body_sealed = ? WHERE id = ?",
                arguments: [rows[0]["body_sealed"] as Data, rows[1]["id"] as String]
            )
        }
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await store.read { tx in try tx.openThread(thread) }
        }
    }

    @Test func sealedValueMovedToAnotherColumnFailsToOpen() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = try await store.write { tx in
            try tx.importMessage(Sample.message("s3", at: Date()), into: .client(Sample.identity())).storedThread!
        }
        try await store.pool.write { db in try db.execute(sql: "UPDATE message SET subject_sealed = body_sealed") }
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await store.read { tx in try tx.openThread(thread) }
        }
    }

    @Test func wrappedKeyOfOneThreadDoesNotOpenAnother() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let (one, two) = try await store.write { tx in
            (
                try tx.importMessage(Sample.message("w1", at: Date()), into: .client(Sample.identity(1))).storedThread!,
                try tx.importMessage(Sample.message("w2", at: Date()), into: .client(Sample.identity(2))).storedThread!
            )
        }
        try await store.pool.write { db in
            try db.execute(
                sql:
                    """
                    UPDATE thread_key SET wrapped_key = (SELECT wrapped_key FROM thread_key WHERE thread_id = ?)
                    WHERE thread_id = ?
                    """,
                arguments: [one.unredactedDescription, two.unredactedDescription]
            )
        }
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await store.read { tx in try tx.openThread(two) }
        }
        #expect(try await store.read { tx in try tx.openThread(one) }.messages.count == 1)
        // Listing decrypts nothing: the thread with the broken key is listed with its counts.
        let listed = try await store.read { tx in try tx.listThreads(field: Sample.field) }
        #expect(Set(listed.map(\.id)) == [one, two])
        #expect(listed.allSatisfy { $0.messageCount == 1 && $0.unreadCount == 1 })
    }

    @Test func storageErrorDescriptionCarriesNoSQLOrArguments() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        do {
            try await store.write { tx in
                try tx.db.execute(sql: "INSERT INTO no_such_table (secret) VALUES (?)", arguments: ["personal-data"])
            }
            Issue.record("expected an error")
        } catch let error as ThreadStoreError {
            #expect(error == .storageFailure)
            #expect(error.sqliteResultCode == 1)
            let text = "\(error)" + String(reflecting: error)
            #expect(!text.contains("no_such_table"))
            #expect(!text.contains("personal-data"))
            #expect(!text.contains("INSERT"))
        }
    }
}

@Suite struct IdentifierTests {
    @Test func threadIDsAreRandomValidatedAndRedacted() throws {
        let id = ThreadID.random()
        #expect(id.unredactedDescription.count == 32)
        #expect(try ThreadID(id.unredactedDescription.uppercased()) == id)
        #expect("\(id)" == "<thread>")
        #expect(ThreadID.random() != id)
        for bad in [
            "", "xyz", String(repeating: "g", count: 32), String(repeating: "a", count: 31),
            "../" + String(repeating: "a", count: 29),
        ] {
            #expect(throws: ThreadStoreError.invalidIdentifier) { try ThreadID(bad) }
        }
    }

    @Test func fingerprintsAccept40Or64Hex() throws {
        #expect(try ClientKeyFingerprint(String(repeating: "ab", count: 20)).hex == String(repeating: "AB", count: 20))
        #expect(try ClientKeyFingerprint(String(repeating: "0", count: 64)).hex.count == 64)
        for bad in [
            String(repeating: "A", count: 39), String(repeating: "A", count: 41), String(repeating: "Z", count: 40),
        ] {
            #expect(throws: InvalidFingerprint.self) { try ClientKeyFingerprint(bad) }
        }
        #expect("\(try ClientKeyFingerprint(String(repeating: "A", count: 40)))" == "<fingerprint>")
    }

    @Test func fieldsAndAddressesValidate() throws {
        #expect(try CounsellingField("Sucht").rawValue == "sucht")
        #expect(throws: ThreadStoreError.invalidValue) { try CounsellingField("") }
        #expect(throws: ThreadStoreError.invalidValue) { try CounsellingField("a b") }
        #expect(throws: ThreadStoreError.invalidValue) { try ClientAddress("a@b\r\nRCPT TO:<x>") }
        #expect("\(try ClientAddress("a@example.org"))" == "<address>")
        let message = Sample.message("red", body: "secret body", subject: "secret subject", at: Date())
        #expect(!"\(message)".contains("secret"))
    }
}
