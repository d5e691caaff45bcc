import Crypto
import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The canary scans of issue 21 on PostgreSQL: what the web inbox's shared state and the outbox write (under the
/// gateway's role) reaches PostgreSQL's files only sealed or as keyed HMACs. TestSupport's ``PostgresCanaryScan``
/// reads every file of the server's data folder (heap, indexes, WAL, …) after a `CHECKPOINT` and a `pg_dump` of the
/// database, for each canary in clear and in hex. A canary stored in clear is found in both, so the scan can fail.
@Suite struct PostgresCanaryTests {
    let logger = PostgresTesting.logger

    /// A canary of `prefix` and 16 random letters of the base32 alphabet (usable as a TOTP secret).
    static func canary(_ prefix: String) -> String {
        let alphabet: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        return prefix + String((0..<16).map { _ in alphabet.randomElement()! })
    }

    @Test func theScanFindsEachSpellingAnywhereInAFile() {
        let canary = "MBCANARY"
        let hex = Array("4d4243414e415259".utf8)
        #expect(PostgresCanaryScan.scan(Array("xx".utf8) + Array(canary.utf8), file: "f", for: [canary]).map(\.spelling)
            == [.clear])
        #expect(PostgresCanaryScan.scan(hex + [0], file: "f", for: [canary]).map(\.spelling) == [.hexLower])
        #expect(PostgresCanaryScan.scan(Array("\\x4D4243414E415259".utf8), file: "f", for: [canary]).map(\.spelling)
            == [.hexUpper])
        #expect(PostgresCanaryScan.scan(Array("MBCANAR".utf8) + [0] + Array("MMBCANARX".utf8), file: "f",
                                        for: [canary]).isEmpty)
        #expect(!PostgresCanaryScan.contains([1, 2], [1, 2, 3]) && PostgresCanaryScan.contains([1, 1, 2], [1, 2]))
    }

    @Test func onlySealedValuesAndHMACsReachTheDataFolderAndADump() async throws {
        let nodes = try await WebStateEngines.postgres(gatewayRole: true)
        let state = nodes.states[0]
        let server = nodes.database.server
        let t0 = WebStateEngines.start
        let totpSecret = Self.canary("MBCANARYTOTP")
        let sender = Self.canary("mb-canary-sender-").lowercased() + "@example.org"
        let lockKey = "user:" + Self.canary("mbcanarylock").lowercased()
        let onceToken = Self.canary("MBCANARYONCE")
        let payload = "Subject: MBCANARYPAYLOAD " + Self.canary("")

        let id = try await state.createAccount(WebStateEngines.newAccount("canary"), actor: nil, via: nil)
        try await state.enrolSecondFactor(secret: totpSecret, acceptedStep: 1, for: id)
        let session = try await state.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        #expect(try await state.shouldSendRedirect(to: state.senderHMAC(canonicalAddress: sender), now: t0,
                                                   period: 86_400))
        #expect(try await state.recordOnce(onceToken, now: t0, period: 86_400))
        _ = try await state.updateLoginLock(lockKey, now: t0) { $0.failures.append(t0) }
        // The outbox holds what its caller sealed (ThreadStore seals with the thread's data key, ChaChaPoly).
        let dataKey = SymmetricKey(size: .bits256)
        let sealed = try ChaChaPoly.seal(Data(payload.utf8), using: dataKey).combined
        var row = PostgresOutboxRow.sample(notBefore: t0.storeMilliseconds)
        row.payloadSealed = Array(sealed)
        try await PostgresConnector.withConnection(nodes.endpoint, logger: logger) {
            try await PostgresOutbox.enqueue(row, on: $0, logger: self.logger)
        }
        #expect(try await state.loginCredentials(username: "canary")?.totpSecret == totpSecret)

        let canaries = [totpSecret, sender, lockKey, onceToken, payload, session.token]
        try await offCooperativePool { try server.psql("CHECKPOINT") }
        let folderHits = try await offCooperativePool {
            try PostgresCanaryScan.folder(server.dataDirectory, for: canaries)
        }
        #expect(folderHits.isEmpty, "\(folderHits)")
        let dump = try await offCooperativePool { try server.dump(nodes.database.name) }
        #expect(PostgresCanaryScan.scan(dump, file: "pg_dump", for: canaries).isEmpty)
        // The sealed payload itself is in the dump (as hex): the dump holds the rows, only sealed.
        let sealedHex = sealed.map { String(format: "%02x", $0) }.joined()
        #expect(PostgresCanaryScan.contains(dump, Array(sealedHex.utf8)))

        // Positive control: a canary stored in clear is found in the data folder and in the dump, as text and hex.
        let control = Self.canary("MBCANARYCONTROL")
        try await offCooperativePool {
            try server.psql("""
                CREATE TABLE canary_control (t TEXT, b BYTEA);
                INSERT INTO canary_control VALUES ('\(control)', convert_to('\(control)', 'UTF8'));
                CHECKPOINT
                """, database: nodes.database.name)
        }
        let controlHits = try await offCooperativePool {
            try PostgresCanaryScan.folder(server.dataDirectory, for: [control])
        }
        #expect(controlHits.contains { $0.file.hasPrefix("base/") && $0.spelling == .clear })
        #expect(controlHits.contains { $0.file.hasPrefix("pg_wal/") })
        let controlDump = try await offCooperativePool {
            try PostgresCanaryScan.dump(nodes.database.name, on: server, for: [control])
        }
        #expect(Set(controlDump.map(\.spelling)) == [.clear, .hexLower])
    }
}
