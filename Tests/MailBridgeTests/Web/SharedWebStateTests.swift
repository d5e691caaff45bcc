import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MailBridge
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// The web inbox's authentication goes through ``WebStateStore`` (issue 21): two web inbox instances, each on its
/// own ``PostgresWebState`` (its own pool) over one real PostgreSQL database, serve one counsellor as if they were
/// one, as two gateway nodes behind a load balancer must; their inbox content and replies go through
/// ``PostgresThreads`` on the same database. Each instance also has a SQLite ThreadStore of its own, which
/// ``WebServices`` still takes; the tests check that nothing landed there.
@Suite struct SharedWebStateTests {
    @Test func twoInstancesShareSessionsTOTPStepsAndLoginLocks() async throws {
        let nodes = try await SharedWebNodes.make()
        let secret = TOTPAuthenticator.generateSecret()
        let id = try await nodes.createAccount(totpSecret: secret)
        try await nodes.a.application().test(.router) { clientA in
            try await nodes.b.application().test(.router) { clientB in
                // Password on A, code on B: the pending session is B's too.
                let onA = Browser(clientA)
                let first = try await onA.login()
                #expect(first.status == .seeOther && first.headers[.location] == "/login/totp?lang=de")
                let pending = try #require(onA.session)
                let onB = Browser(clientB)
                onB.cookies = onA.cookies
                let page = try await onB.get("/login/totp")
                #expect(page.status == .ok)
                let csrf = try #require(Browser.csrf(in: page))
                let code = nodes.code(secret)
                let done = try await onB.post("/login/totp", [("csrf_token", csrf), ("code", code)])
                #expect(done.status == .seeOther && done.headers[.location] == "/")
                let full = try #require(onB.session)
                #expect(full != pending)
                // B's session cookie is accepted by A (and the device cookie B set is A's too).
                onA.cookies = onB.cookies
                #expect(String(buffer: try await onA.get("/probe").body) == id.unredactedDescription)
                #expect(String(buffer: try await onB.get("/probe").body) == id.unredactedDescription)
                // The code just used on B is refused on A (one TOTP step, once, on any node).
                let replay = Browser(clientA)
                #expect(try await replay.login(secret: secret, code: code).status == .forbidden)
                #expect(try await replay.get("/probe").status == .seeOther)

                // Logout on B ends the session on A.
                let csrfFull = try #require(try await nodes.a.state.webSession(token: full, now: nodes.clock.now,
                                                                               idleTimeout: 600)?.csrfToken)
                let out = try await onB.post("/logout", [("csrf_token", csrfFull)])
                #expect(out.status == .seeOther && onB.session == nil)
                let stale = Browser(clientA)
                stale.session = full
                #expect(try await stale.get("/probe").status == .seeOther)
            }
        }
        let audit = try nodes.audit()
        let actor = id.unredactedDescription
        #expect(audit.contains("\(AuditEvent.loginSucceeded.rawValue)/-/\(actor)"))
        let replayed = LoginFailureReason.replayedCode.rawValue
        #expect(audit.contains("\(AuditEvent.loginFailed.rawValue)/\(replayed)/\(actor)"))
        #expect(audit.last == "\(AuditEvent.loggedOut.rawValue)/\(LogoutReason.logout)/\(actor)")
        try await nodes.expectNothingInTheLocalStores()
    }

    /// Issue 21: "the inbox of a counsellor logged in on node A shows what node B imported". Node B imports a
    /// client's message into the shared database; the counsellor logs in on node A, finds the thread in the list,
    /// opens it and reads the message; the read is audited in the shared database, with nothing in A's SQLite file.
    @Test func nodeAShowsWhatNodeBImported() async throws {
        let nodes = try await SharedWebNodes.make { $0.requireSecondFactor = false }
        let id = try await nodes.createAccount()
        let words = "Ich brauche Hilfe \(UUID().uuidString)"
        let client = ClientIdentity(field: try CounsellingField("sucht"),
                                    key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
                                    address: try ClientAddress("klientin@example.org"))
        let imported = try await nodes.b.threads.importMessage(
            NewMessage(direction: .inbound, messageID: "<frage@example.org>", subject: "Frage",
                       body: Array("Content-Type: text/plain; charset=utf-8\r\n\r\n\(words)\r\n".utf8),
                       verdict: .valid, receivedAt: nodes.clock.now),
            into: .client(client))
        guard case .stored(let stored, _, createdThread: true) = imported else {
            Issue.record("\(imported)")
            return
        }
        let thread = stored.unredactedDescription
        try await nodes.a.application().test(.router) { clientA in
            let browser = Browser(clientA)
            #expect(try await browser.login().status == .seeOther)
            let list = try await browser.get("/threads")
            #expect(list.status == .ok && String(buffer: list.body).contains(thread))
            let page = try await browser.get("/threads/\(thread)")
            #expect(page.status == .ok && String(buffer: page.body).contains(words))
        }
        #expect(try nodes.audit().contains("\(AuditEvent.threadViewed.rawValue)/1/\(id.unredactedDescription)"))
        #expect(try await nodes.a.store.read { tx in try tx.auditEntries() }.isEmpty)
    }

    /// Issue 21: the enrolment page shown by node A and confirmed on node B. The secret is derived from the pending
    /// login (not kept in A's memory), so B shows the same secret and accepts a code made from it; a new login
    /// shows another secret, and the enrolled secret opens the next login on either node.
    @Test func enrolmentShownOnOneNodeIsConfirmedOnTheOther() async throws {
        let nodes = try await SharedWebNodes.make()
        let id = try await nodes.createAccount()
        try await nodes.a.application().test(.router) { clientA in
            try await nodes.b.application().test(.router) { clientB in
                let onA = Browser(clientA)
                let first = try await onA.login()
                #expect(first.status == .seeOther
                        && first.headers[.location]?.hasPrefix(WebAuthNames.enrolPath) == true)
                let pageA = try await onA.get(WebAuthNames.enrolPath)
                let secret = try #require(WebAuthTests.enrolmentSecret(in: pageA))
                #expect(WebAuthTests.enrolmentSecret(in: try await onA.get(WebAuthNames.enrolPath)) == secret)
                let onB = Browser(clientB)
                onB.cookies = onA.cookies
                let pageB = try await onB.get(WebAuthNames.enrolPath)
                #expect(WebAuthTests.enrolmentSecret(in: pageB) == secret, "B shows another secret than A")
                // Another login (another pending session) gets another secret.
                let other = Browser(clientB)
                _ = try await other.login()
                let otherSecret = WebAuthTests.enrolmentSecret(in: try await other.get(WebAuthNames.enrolPath))
                #expect(otherSecret != nil && otherSecret != secret)
                let csrf = try #require(Browser.csrf(in: pageB))
                let done = try await onB.post(WebAuthNames.enrolPath,
                                              [("csrf_token", csrf), ("code", nodes.code(secret))])
                #expect(done.status == .seeOther && done.headers[.location] == "/", "\(done.status)")
                onA.cookies = onB.cookies
                #expect(String(buffer: try await onA.get("/probe").body) == id.unredactedDescription)
            }
        }
        // The next login (a later TOTP step) works with the enrolled secret, on A.
        nodes.clock.advance(60)
        try await nodes.a.application().test(.router) { clientA in
            let browser = Browser(clientA)
            let secret = try #require(try await nodes.a.state.loginCredentials(username: "anna")?.totpSecret)
            let final = try await browser.login(secret: secret, code: nodes.code(secret))
            #expect(final.status == .seeOther && final.headers[.location] == "/")
        }
        try await nodes.expectNothingInTheLocalStores()
    }

    @Test func loginFailuresOnBothInstancesCountTowardsOneLock() async throws {
        let nodes = try await SharedWebNodes.make { $0.requireSecondFactor = false }
        let id = try await nodes.createAccount()
        try await nodes.a.application().test(.router) { clientA in
            try await nodes.b.application().test(.router) { clientB in
                let browsers = [Browser(clientA), Browser(clientB)]
                // Five failures, alternating A, B, A, B, A: neither node alone saw five.
                for attempt in 0..<5 {
                    let failed = try await browsers[attempt % 2].login(password: "Falsches-Passwort-123")
                    #expect(failed.status == .forbidden)
                }
                // The right password is refused on B, for the name (from another address) and the address.
                let locked = try await browsers[1].post(
                    "/login", [("username", "anna"), ("password", SharedWebNodes.password)],
                    headers: [.init("X-Real-IP")!: "198.51.100.7"])
                #expect(locked.status == .tooManyRequests && browsers[1].session == nil)
                #expect(try await browsers[0].login().status == .tooManyRequests)
                nodes.clock.advance(15 * 60)
                #expect(try await browsers[1].login().status == .seeOther)
                #expect(String(buffer: try await browsers[1].get("/probe").body) == id.unredactedDescription)
            }
        }
        // Five failures and one lock, audited in the shared database.
        let failed = try nodes.audit().filter { $0.hasPrefix("\(AuditEvent.loginFailed.rawValue)/") }
        #expect(failed.map { $0.split(separator: "/")[1] }
            == Array(repeating: "\(LoginFailureReason.badCredentials.rawValue)", count: 5)
            + ["\(LoginFailureReason.rateLimited.rawValue)"])
        // The lock is a row of the shared table, keyed by HMAC: no user name and no address in it.
        let locks = try nodes.database.server.psql("SELECT t::text FROM login_lock t", database: nodes.database.name)
        #expect(!locks.isEmpty && !locks.contains("anna") && !locks.contains("192.0.2.10"))
        try await nodes.expectNothingInTheLocalStores()
    }
}

/// Two web inbox instances on one PostgreSQL database, sharing a clock and a master key.
struct SharedWebNodes: Sendable {
    static let password = WebAuthHarness.password
    let database: TestDatabase
    let clock: WebFakeClock
    let a: SharedWebNode
    let b: SharedWebNode

    static func make(configure: @Sendable (inout WebAuthSettings) -> Void = { _ in }) async throws
        -> SharedWebNodes
    {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let endpoint = PostgresEndpoint(host: server.host, port: server.port, database: database.name,
                                        user: database.user, passwordFile: database.passwordFile.path, tls: .disable,
                                        connectTimeoutSeconds: 5)
        _ = try await PostgresStore.open(endpoint, logger: Logger(label: "test.postgres"))
        let clock = WebFakeClock(Date(timeIntervalSince1970: 1_800_000_000))
        let key = MasterKey.generate()
        return SharedWebNodes(
            database: database, clock: clock,
            a: try await SharedWebNode(endpoint: endpoint, masterKey: key, clock: clock, configure: configure),
            b: try await SharedWebNode(endpoint: endpoint, masterKey: key, clock: clock, configure: configure))
    }

    @discardableResult
    func createAccount(totpSecret: String? = nil) async throws -> AccountID {
        let hash = try await PasswordHasher(cost: 4).hash(Self.password)
        let id = try await a.state.createAccount(
            NewAccount(username: "anna", displayName: "Anna Beispiel", role: .counsellor,
                       fields: [try CounsellingField("sucht")], passwordHash: hash), actor: nil, via: .commandLine)
        if let totpSecret { try await b.state.enrolSecondFactor(secret: totpSecret, acceptedStep: 0, for: id) }
        return id
    }

    func code(_ secret: String) -> String {
        TOTPAuthenticator.code(secret: secret, step: TOTPAuthenticator.step(at: clock.now))
    }

    /// The shared database's audit rows, oldest first, as `event/count/actor` (`-` for none).
    func audit() throws -> [String] {
        let text = try database.server.psql("""
            SELECT string_agg(a.event || '/' || coalesce(a.count::text, '-') || '/' || coalesce(a.actor_id, '-'),
                              ',' ORDER BY a.id) FROM audit a
            """, database: database.name)
        return text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map(String.init)
    }

    /// Neither node's SQLite store holds a session or a login audit entry: authentication went through the seam.
    func expectNothingInTheLocalStores() async throws {
        let login: Set<AuditEvent> = [.accountCreated, .secondFactorEnrolled, .loginSucceeded, .loginFailed,
                                      .loggedOut, .passwordChanged]
        let later = clock.now + 365 * 86_400
        for node in [a, b] {
            #expect(try await node.store.read { tx in try tx.auditEntries() }.filter { login.contains($0.event) }
                .isEmpty)
            #expect(try await node.store.write { tx in try tx.purgeExpiredWebSessions(now: later, idleTimeout: 0) }
                == 0)
        }
    }
}

/// One instance: its own pool and ``PostgresWebState`` on the shared database, its own SQLite ThreadStore.
final class SharedWebNode: Sendable {
    let root: URL
    let store: ThreadStore
    let state: PostgresWebState
    /// The inbox and replies on the shared database.
    let threads: PostgresThreads
    let services: WebServices
    let pool: Task<Void, Never>

    init(endpoint: PostgresEndpoint, masterKey: MasterKey, clock: WebFakeClock,
         configure: (inout WebAuthSettings) -> Void) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mb-shared-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.clock = { clock.now }
        store = try ThreadStore(at: root.appendingPathComponent("threads.sqlite"), masterKey: masterKey,
                                configuration: storeConfiguration)
        let logger = Logger(label: "test.shared-web")
        let database = try PostgresDatabase(endpoint, maximumConnections: 4, logger: logger)
        pool = Task { await database.run() }
        state = try await PostgresWebState.open(database, masterKey: masterKey, clock: { clock.now }, logger: logger)
        threads = try await PostgresThreads.open(database, masterKey: masterKey, configuration: storeConfiguration,
                                                 logger: logger)
        let pgp = try PGPService(configuration: PGPConfiguration(homeDirectory: root.appendingPathComponent("gnupg")))
        var settings = WebAuthSettings()
        settings.bcryptCost = 4
        settings.clientAddressHeader = "X-Real-IP"
        configure(&settings)
        services = WebServices(
            store: store, webState: state, inbox: threads,
            replies: ReplyComposer(replies: threads, pgp: pgp, mailboxes: MailboxDirectory([]), logger: logger),
            logger: logger, auth: settings, now: { clock.now })
    }

    deinit {
        pool.cancel()
        try? FileManager.default.removeItem(at: root)
    }

    func application() -> some ApplicationProtocol {
        let router = WebRouter.make(services: services)
        router.get("/probe") { _, context in context.counsellor?.id.unredactedDescription ?? "none" }
        return Application(router: router, logger: Logger(label: "test.shared-web.hb"))
    }
}
