import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// The web inbox over real parts: a pipeline harness (GnuPG, ThreadStore file, client keyring), a real
/// `ReplyComposer`, and the router the gateway serves (`WebRouter.make`: security headers, API token, session, CSRF
/// and login gate of the accounts side, then the inbox). Three accounts are created through the store's account
/// API, each with a browser session (second factor done) and an API token: `berater` (counsellor, field of the
/// harness mailbox, German), `fremd` (counsellor of another field, English) and `leitung` (team lead, German).
final class WebHarness: @unchecked Sendable {
    let pipe: PipelineHarness
    var services: WebServices
    let accounts: [String: Counsellor]
    private let sessions: [String: NewWebSession]
    private let tokens: [String: String]
    /// The ID of each account's API token.
    let tokenIDs: [String: APITokenID]
    static let clientAddress = "klient@example.net"
    static let otherField = "familie"
    static let password = "Ein-langes-Test-Passwort-42"
    /// The client's current key (after the first ``importClientMail(inner:newKey:)``).
    private(set) var clientKey: KeyFingerprint?
    private var mailCounter = 0

    var store: ThreadStore { pipe.store }

    /// `mustChangePassword`: accounts whose password counts as set by an administrator (replaced at first login).
    /// `configureAuth`: changes to the authentication settings (rate limits, …) after the harness's own.
    /// `organisations` (issue 29): two organisations, `org-a` owning the harness mailbox's field (`berater`,
    /// `leitung`) and `org-b` owning ``otherField`` (`fremd`, and a fourth account `leitung-b`, its team lead).
    /// `administrators` (always with `organisations`): `verwaltung` administers (org-a's) accounts and reads no
    /// thread; with organisations `verwaltung-b` administers org-b's.
    init(requireSecondFactor: Bool = true, mustChangePassword: Set<String> = [], organisations: Bool = false,
         administrators: Bool = false, configureAuth: (inout WebAuthSettings) -> Void = { _ in }) async throws {
        pipe = try await PipelineHarness()
        let replies = ReplyComposer(store: pipe.store, pgp: pipe.pgp, mailboxes: [pipe.mailbox],
                                    logger: pipe.logs.logger("reply"))
        var auth = WebAuthSettings()
        auth.bcryptCost = 4
        // Secure cookies stay on (the default): Chromium keeps them on plain HTTP to 127.0.0.1, as the quick start
        // serves the inbox, and the browser test proves it.
        auth.requireSecondFactor = requireSecondFactor
        configureAuth(&auth)
        var services = WebServices(store: pipe.store, replies: replies, logger: pipe.logs.logger("web"), auth: auth)
        services.fields = [pipe.mailbox.field, try CounsellingField(Self.otherField)]
        let hash = try await PasswordHasher(cost: 4).hash(Self.password)
        let ownField = pipe.mailbox.field
        var accounts: [String: Counsellor] = [:]
        var sessions: [String: NewWebSession] = [:]
        var tokens: [String: String] = [:]
        var tokenIDs: [String: APITokenID] = [:]
        var people: [(String, CounsellorRole, [CounsellingField], InterfaceLanguage, OrganisationID?)] = [
            ("berater", CounsellorRole.counsellor, [ownField], InterfaceLanguage.german, nil),
            ("fremd", .counsellor, [try CounsellingField(Self.otherField)], .english, nil),
            ("leitung", .teamLead, [], .german, nil),
        ]
        if organisations {
            let (a, b) = (try OrganisationID("org-a"), try OrganisationID("org-b"))
            services.organisations = try Self.twoOrganisations(ownField: ownField)
            people = people.map { ($0.0, $0.1, $0.2, $0.3, $0.0 == "fremd" ? b : a) }
            people.append(("leitung-b", .teamLead, [], .german, b))
            people.append(("verwaltung-b", .counsellor, [], .german, b))
        }
        if organisations || administrators {
            people.append(("verwaltung", .counsellor, [], .german, organisations ? try OrganisationID("org-a") : nil))
        }
        self.services = services
        for (name, role, fields, language, organisation) in people {
            let (account, session, token) = try await pipe.store.write { tx in
                let id = try tx.createAccount(
                    NewAccount(username: name, displayName: "Name \(name)", role: role, language: language,
                               fields: Set(fields), passwordHash: hash,
                               mustChangePassword: mustChangePassword.contains(name), organisation: organisation,
                               administers: name.hasPrefix("verwaltung")),
                    actor: nil)
                let session = try tx.createWebSession(for: id, secondFactorDone: true, now: Date(), lifetime: 3600)
                let token = try tx.createAPIToken(for: id, label: "test", actor: nil)
                return (try tx.account(id)!, session, token)
            }
            accounts[name] = Counsellor(account, in: services.organisations)!
            sessions[name] = session
            tokens[name] = token.token
            tokenIDs[name] = token.id
        }
        self.accounts = accounts
        self.sessions = sessions
        self.tokens = tokens
        self.tokenIDs = tokenIDs
    }

    func counsellor(_ name: String) -> Counsellor { accounts[name]! }

    /// `org-a` with the mailbox of `ownField`, `org-b` with one of ``otherField``.
    static func twoOrganisations(ownField: CounsellingField) throws -> OrganisationDirectory {
        let (a, b) = (try OrganisationID("org-a"), try OrganisationID("org-b"))
        let link = try RedirectLink("https://beratung.example/login")
        var own = BridgeConfiguration.Mailbox(
            address: try EmailAddress("beratung@example.org"), field: ownField.rawValue,
            teamNotificationAddress: try EmailAddress("team@example.org"), redirectLink: link)
        own.organisation = a
        var other = BridgeConfiguration.Mailbox(
            address: try EmailAddress("familie@example.org"), field: otherField,
            teamNotificationAddress: try EmailAddress("team-b@example.org"), redirectLink: link)
        other.organisation = b
        return OrganisationDirectory(
            organisations: [.init(id: a, name: "Organisation A"), .init(id: b, name: "Organisation B")],
            mailboxes: [own, other])
    }

    /// The CSRF token of `user`'s browser session.
    func csrf(_ user: String) -> String { sessions[user]!.csrfToken }

    /// The router the gateway serves.
    func router() -> Router<WebRequestContext> { WebRouter.make(services: services) }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: router(), logger: pipe.logs.logger("hummingbird"))
        try await app.test(.router, body)
    }

    /// Headers of a browser request with `user`'s session cookie (nil: not logged in).
    func browser(_ user: String?, form: Bool = false) -> HTTPFields {
        var fields = HTTPFields()
        if let user { fields[.cookie] = "\(services.auth.sessionCookieName)=\(sessions[user]!.token)" }
        if form { fields[.contentType] = "application/x-www-form-urlencoded" }
        return fields
    }

    /// Headers of an API request with `user`'s bearer token.
    func api(_ user: String, json: Bool = false) -> HTTPFields {
        var fields = HTTPFields()
        fields[.authorization] = "Bearer \(tokens[user]!)"
        if json { fields[.contentType] = "application/json" }
        return fields
    }

    /// A URL-encoded form body including `user`'s CSRF token.
    func form(_ user: String, _ values: [String: String]) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let pairs = (values.merging([WebAuthNames.csrfField: csrf(user)]) { $1 })
            .sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
        return ByteBuffer(string: pairs.joined(separator: "&"))
    }

    /// A signed, encrypted client mail with the given inner MIME entity, through the real pipeline. The same
    /// client key is used for every call unless `newKey` is set. The gpg and Python work runs on a dispatch thread.
    func importClientMail(inner: String, newKey: Bool = false) async throws -> ThreadID {
        mailCounter += 1
        let pipe = self.pipe, previous = clientKey, counter = mailCounter
        let (key, raw) = try await offCooperativePool { () throws -> (KeyFingerprint, String) in
            var key = previous
            if let old = key, newKey {
                // The client lost the old key and made a new one for the same address.
                try pipe.client.gpg(["--yes", "--delete-secret-and-public-keys", old.hex])
                key = nil
            }
            let current = try key ?? pipe.client.makeKey(Self.clientAddress)
            let ciphertext = try pipe.client.gpg(
                ["--armor", "--sign", "--local-user", current.hex, "--encrypt", "--recipient", pipe.gateway.hex],
                stdin: Array(inner.replacingOccurrences(of: "\n", with: "\r\n").utf8)).stdout
            let keydata = try pipe.client.gpg(["--export", "--export-options", "export-minimal", current.hex]).stdout
            let raw = try pipe.pgpMIMEMail(
                from: Self.clientAddress, ciphertext: ciphertext,
                messageID: "<web-\(counter)-\(UUID().uuidString.prefix(6))@example.net>",
                extraHeaders: ["Autocrypt": " addr=\(Self.clientAddress); keydata=\(Data(keydata).base64EncodedString())"])
            return (current, raw)
        }
        clientKey = key
        let outcome = try await pipe.pipeline.accept(try pipe.spool(raw, from: Self.clientAddress))
        guard case .imported(let thread, _) = outcome else { throw NotImported(outcome: "\(outcome)") }
        return thread
    }

    struct NotImported: Error { let outcome: String }

    /// A thread in another field, imported directly into the store (no mailbox for it, so no replies).
    func importForeignThread(canary: String) async throws -> ThreadID {
        let identity = ClientIdentity(field: try CounsellingField(Self.otherField),
                                      key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
                                      address: try ClientAddress("andere@example.net"))
        let message = NewMessage(direction: .inbound, messageID: "<foreign-\(UUID().uuidString)@example.net>",
                                 subject: "Fremd \(canary)", body: Array("Fremder Text \(canary)".utf8),
                                 attachments: [NewAttachment(name: "f.txt", mediaType: "text/plain",
                                                             content: Array(canary.utf8))],
                                 verdict: .valid, receivedAt: Date())
        let outcome = try await store.write { tx in try tx.importMessage(message, into: .client(identity)) }
        guard case .stored(let thread, _, _) = outcome else { throw NotImported(outcome: "\(outcome)") }
        return thread
    }

    /// A thread of `count` inbound messages ("Nachricht 0" … one second apart, oldest first) imported directly
    /// into the store (no gpg), in `field` (default: the harness mailbox's) with a client key of its own.
    func importStoreThread(messages count: Int, field: CounsellingField? = nil) async throws -> ThreadID {
        mailCounter += 1
        let identity = ClientIdentity(field: field ?? pipe.mailbox.field,
                                      key: try ClientKeyFingerprint(String(format: "%040X", 0xC0FFEE + mailCounter)),
                                      address: try ClientAddress("lang\(mailCounter)@example.net"))
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return try await store.write { tx in
            var thread: ThreadID?
            for number in 0..<count {
                let message = NewMessage(direction: .inbound, messageID: "<long-\(UUID().uuidString)@example.net>",
                                         subject: "Nachricht \(number)", body: Array("Text \(number)".utf8),
                                         verdict: .valid, receivedAt: start.addingTimeInterval(Double(number)))
                let outcome = try tx.importMessage(message, into: thread.map { .thread($0) } ?? .client(identity))
                guard case .stored(let stored, _, _) = outcome else { throw NotImported(outcome: "\(outcome)") }
                thread = stored
            }
            return thread!
        }
    }

    /// Every audit row as text (sqlite3 CLI, all columns), to search for content.
    func auditTableDump() async throws -> String {
        let path = pipe.storeFile.path
        return try await offCooperativePool {
            try Shell.run("sqlite3", [path, "PRAGMA busy_timeout = 5000; SELECT * FROM audit;"]).stdout.text
        }
    }

    /// The inner entity of a client mail: a text part, an HTML alternative and an attachment.
    static func innerMail(subject: String, text: String, html: String, fileName: String, attachment: String) -> String {
        """
        Content-Type: multipart/mixed; boundary="outer-b"; protected-headers="v1"
        Subject: \(subject)

        --outer-b
        Content-Type: multipart/alternative; boundary="alt-b"

        --alt-b
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit

        \(text)
        --alt-b
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: 8bit

        \(html)
        --alt-b--
        --outer-b
        Content-Type: text/html; name="\(fileName)"
        Content-Disposition: attachment; filename="\(fileName)"
        Content-Transfer-Encoding: base64

        \(Data(attachment.utf8).base64EncodedString())
        --outer-b--

        """
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}

extension ByteBuffer {
    var text: String { String(buffer: self) }
}
