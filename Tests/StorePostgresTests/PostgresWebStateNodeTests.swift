import Foundation
import Logging
import PostgresNIO
import Testing
import TestSupport
import ThreadStore

@testable import StorePostgres

/// The web inbox's shared state with two gateway nodes on one real PostgreSQL (issue 21): check-and-sets that race
/// across nodes let exactly one through, no login failure is lost, and the database holds only sealed values and
/// HMACs.
@Suite struct PostgresWebStateNodeTests {
    let t0 = WebStateEngines.start
    let logger = PostgresTesting.logger

    /// Each step is tried by three requests on each of two nodes at once; exactly one may use it.
    @Test func aTOTPStepIsAcceptedByExactlyOneNode() async throws {
        let nodes = try await WebStateEngines.postgres(nodes: 2)
        let id = try await nodes.states[0].createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        try await nodes.states[1].enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 0, for: id)
        for step in Int64(1)...20 {
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for request in 0..<6 {
                    let state = nodes.states[request % 2]
                    group.addTask { try await state.acceptTOTPStep(step, for: id) }
                }
                var accepted = 0
                for try await yes in group where yes { accepted += 1 }
                return accepted
            }
            #expect(accepted == 1, "step \(step)")
        }
        #expect(try await nodes.states[0].loginCredentials(username: "anna")?.lastTOTPStep == 20)
    }

    /// A second node's check of a step waits for the first node's uncommitted use of it and then refuses; after a
    /// rollback it accepts. A read-then-write without the row lock would accept in both cases.
    @Test(arguments: [true, false])
    func aStepInUseOnAnotherNodeWaitsForItsCommit(commit: Bool) async throws {
        let nodes = try await WebStateEngines.postgres(nodes: 1)
        let state = nodes.states[0]
        let id = try await state.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        try await state.enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 6, for: id)
        try await PostgresConnector.withConnection(nodes.endpoint, logger: logger) { other in
            try await other.query("BEGIN", logger: logger)
            try await other.query(
                "UPDATE account SET totp_last_step = 7 WHERE id = \(id.unredactedDescription) AND totp_last_step < 7",
                logger: logger)
            let racing = Task { try await state.acceptTOTPStep(7, for: id) }
            try await Task.sleep(for: .milliseconds(300))
            try await other.query(commit ? "COMMIT" : "ROLLBACK", logger: logger)
            #expect(try await racing.value == !commit)
        }
        #expect(try await state.loginCredentials(username: "anna")?.lastTOTPStep == 7)
    }

    @Test func aRedirectIsDecidedByExactlyOneNode() async throws {
        let nodes = try await WebStateEngines.postgres(nodes: 2)
        for index in 0..<20 {
            let sender = nodes.states[0].senderHMAC(canonicalAddress: "client\(index)@example.org")
            let sent = try await withThrowingTaskGroup(of: Bool.self) { group in
                for request in 0..<6 {
                    let state = nodes.states[request % 2]
                    group.addTask { try await state.shouldSendRedirect(to: sender, now: self.t0, period: 86_400) }
                }
                var sent = 0
                for try await yes in group where yes { sent += 1 }
                return sent
            }
            #expect(sent == 1, "sender \(index)")
        }
    }

    /// Twenty failures recorded at once on two nodes, on a key nobody had yet: all twenty are in the record.
    @Test func noLoginFailureIsLostBetweenNodes() async throws {
        let nodes = try await WebStateEngines.postgres(nodes: 2)
        let t0 = self.t0
        try await withThrowingTaskGroup(of: Void.self) { group in
            for request in 0..<20 {
                let state = nodes.states[request % 2]
                group.addTask {
                    _ = try await state.updateLoginLock("user:anna", now: t0) {
                        $0.failures.append(t0 + Double(request))
                    }
                }
            }
            try await group.waitForAll()
        }
        let record = try #require(try await nodes.states[1].loginLock("user:anna"))
        #expect(record.failures.count == 20)
        #expect(Set(record.failures) == Set((0..<20).map { t0 + Double($0) }))
        #expect(try await nodes.states[0].pruneLoginLocks(changedBefore: t0) == 0)
        #expect(try await nodes.states[0].pruneLoginLocks(changedBefore: t0 + 1) == 1)
        #expect(try await nodes.states[0].loginLock("user:anna") == nil)
    }

    /// A session created on one node serves requests on the other, and a logout on either ends it on both.
    @Test func aSessionIsSharedByBothNodes() async throws {
        let nodes = try await WebStateEngines.postgres(nodes: 2)
        let (a, b) = (nodes.states[0], nodes.states[1])
        let id = try await a.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: nil)
        let session = try await a.createWebSession(for: id, secondFactorDone: true, now: t0, lifetime: 3600)
        #expect(try await b.authenticateWebSession(token: session.token, now: t0 + 100, idleTimeout: 600)?.account.id
            == id)
        #expect(try await a.webSession(token: session.token, now: t0 + 650, idleTimeout: 600)?.lastSeenAt == t0 + 100)
        #expect(try await b.deleteWebSession(token: session.token) == id)
        #expect(try await a.webSession(token: session.token, now: t0 + 101, idleTimeout: 600) == nil)
    }

    /// What PostgreSQL holds: the TOTP secret sealed and bound to its account, SHA-256 of the session token, HMACs
    /// of the sender and the lock key; the audit rows the SQLite engine writes.
    @Test func theDatabaseHoldsNoSecretAndNoAddress() async throws {
        let nodes = try await WebStateEngines.postgres()
        let state = nodes.states[0]
        let secret = "CANARYSECRETQQQQ"
        let anna = try await state.createAccount(WebStateEngines.newAccount("anna"), actor: nil, via: .commandLine)
        let berta = try await state.createAccount(WebStateEngines.newAccount("berta"), actor: nil, via: nil)
        try await state.enrolSecondFactor(secret: secret, acceptedStep: 1, for: anna)
        try await state.enrolSecondFactor(secret: "JBSWY3DPEHPK3PXP", acceptedStep: 1, for: berta)
        let session = try await state.createWebSession(for: anna, secondFactorDone: true, now: t0, lifetime: 60)
        let address = "canary-client@example.org"
        #expect(try await state.shouldSendRedirect(to: state.senderHMAC(canonicalAddress: address), now: t0,
                                                   period: 60))
        _ = try await state.updateLoginLock("ip:198.51.100.77", now: t0) { $0.failures.append(self.t0) }
        #expect(try await state.authenticateWebSession(token: session.token, now: t0 + 60, idleTimeout: 600) == nil)

        let rows = try ["account", "web_session", "sender_rate_limit", "login_lock", "audit", "store_meta"]
            .map(nodes.dump).joined(separator: "\n")
        for canary in [secret, session.token, address, "198.51.100.77"] {
            #expect(!rows.contains(canary))
            #expect(!rows.lowercased().contains(Data(canary.utf8).map { String(format: "%02x", $0) }.joined()))
        }
        // The sealed secret is bound to its row: moved to another account it does not open.
        _ = try nodes.database.server.psql("""
            UPDATE account SET totp_secret_sealed = (SELECT totp_secret_sealed FROM account WHERE username = 'anna')
            WHERE username = 'berta'
            """, database: nodes.database.name)
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await state.loginCredentials(username: "berta")
        }
        #expect(try await state.loginCredentials(username: "anna")?.totpSecret == secret)
        // Audit: account created (twice), second factor enrolled (twice), logged out by timeout.
        let audit = try nodes.database.server.psql(
            "SELECT string_agg(event || '/' || coalesce(channel::text, '-'), ',' ORDER BY id) FROM audit",
            database: nodes.database.name)
        let expected = [
            "\(AuditEvent.accountCreated.rawValue)/3", "\(AuditEvent.accountCreated.rawValue)/-",
            "\(AuditEvent.secondFactorEnrolled.rawValue)/1", "\(AuditEvent.secondFactorEnrolled.rawValue)/1",
            "\(AuditEvent.loggedOut.rawValue)/1",
        ]
        #expect(audit.trimmingCharacters(in: .whitespacesAndNewlines) == expected.joined(separator: ","))
    }

    @Test func anotherMasterKeyIsRefused() async throws {
        let nodes = try await WebStateEngines.postgres()
        await #expect(throws: ThreadStoreError.wrongMasterKey) {
            _ = try await PostgresWebState.open(nodes.pools[0].database, masterKey: .generate(), logger: logger)
        }
    }
}
