import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MailBridge
import NIOCore
import PGPShim
import Synchronization
import TestSupport
import ThreadStore

/// A settable clock shared by the web services and the store.
final class WebFakeClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

/// The web router over a real ThreadStore file, a fake clock, bcrypt cost 4 and a log capture, plus two probe
/// routes standing in for the inbox: `GET /probe` and `POST /probe` (and `/api/probe`) answer with the
/// authenticated account ID.
final class WebAuthHarness: @unchecked Sendable {
    let root: URL
    let store: ThreadStore
    let storeFile: URL
    let logs = LogCapture()
    let clock = WebFakeClock(Date(timeIntervalSince1970: 1_800_000_000))
    let hasher = PasswordHasher(cost: 4)
    let services: WebServices
    static let password = "Sehr-geheimes-Passwort-42"

    init(configure: (inout WebAuthSettings) -> Void = { _ in }) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mb-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        storeFile = root.appendingPathComponent("threads.sqlite")
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.logger = logs.logger("store")
        let clock = self.clock
        storeConfiguration.clock = { clock.now }
        store = try ThreadStore(at: storeFile, masterKey: .generate(), configuration: storeConfiguration)
        let pgp = try PGPService(configuration: PGPConfiguration(homeDirectory: root.appendingPathComponent("gnupg")))
        var settings = WebAuthSettings()
        settings.bcryptCost = 4
        settings.clientAddressHeader = "X-Real-IP"
        configure(&settings)
        services = WebServices(
            store: store, replies: ReplyComposer(store: store, pgp: pgp, mailboxes: [], logger: logs.logger("replies")),
            logger: logs.logger("web"), auth: settings, now: { clock.now })
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func application() -> some ApplicationProtocol {
        let router = WebRouter.make(services: services)
        router.get("/probe") { _, context in context.counsellor?.id.unredactedDescription ?? "none" }
        router.get("/peer") { _, context in context.peerAddress ?? "none" }
        router.post("/probe") { _, context in context.counsellor?.id.unredactedDescription ?? "none" }
        router.get("/api/probe") { _, context in
            "\(context.counsellor?.id.unredactedDescription ?? "none") \(context.authentication == .apiToken)"
        }
        router.post("/api/probe") { _, context in context.counsellor?.id.unredactedDescription ?? "none" }
        // Port 0: `.live` tests bind a free loopback port.
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                           logger: logs.logger("hb"))
    }

    @discardableResult
    func createAccount(_ name: String = "anna", totpSecret: String? = nil, mustChangePassword: Bool = false)
        async throws -> AccountID
    {
        let hash = try await hasher.hash(Self.password)
        return try await store.write { tx in
            let id = try tx.createAccount(
                NewAccount(username: name, displayName: "Anna Beispiel", role: .counsellor,
                           fields: [try CounsellingField("sucht")], passwordHash: hash,
                           mustChangePassword: mustChangePassword), actor: nil)
            if let totpSecret { try tx.enrolSecondFactor(secret: totpSecret, acceptedStep: 0, for: id) }
            return id
        }
    }

    func audit() async throws -> [AuditEntry] { try await store.read { tx in try tx.auditEntries() } }

    /// The CSRF token of the live session with cookie token `token` (nil if none).
    func csrfToken(ofSession token: String) async throws -> String? {
        let now = clock.now
        return try await store.read { tx in try tx.webSession(token: token, now: now, idleTimeout: 60) }?.csrfToken
    }

    /// The current TOTP code of `secret`.
    func code(_ secret: String, offset: Int64 = 0) -> String {
        TOTPAuthenticator.code(secret: secret, step: TOTPAuthenticator.step(at: clock.now) + offset)
    }
}

/// A browser: a cookie jar (the session and the device cookie) kept between requests.
final class Browser: @unchecked Sendable {
    let client: any TestClientProtocol
    let sessionName: String
    let deviceName: String
    var cookies: [String: String] = [:]
    var lastSetCookies: [String] = []

    /// `secure`: the server's `secure-cookies` (it decides the cookie names).
    init(_ client: any TestClientProtocol, secure: Bool = true) {
        self.client = client
        sessionName = WebAuthNames.sessionCookie(secure: secure)
        deviceName = WebAuthNames.deviceCookie(secure: secure)
    }

    var session: String? {
        get { cookies[sessionName] }
        set { cookies[sessionName] = newValue }
    }

    var device: String? {
        get { cookies[deviceName] }
        set { cookies[deviceName] = newValue }
    }

    static func form(_ fields: [(String, String)]) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return ByteBuffer(string: fields.map {
            "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)"
        }.joined(separator: "&"))
    }

    @discardableResult
    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await send(uri, method: .get, headers: headers, body: nil)
    }

    @discardableResult
    func post(_ uri: String, _ fields: [(String, String)], headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await send(uri, method: .post, headers: headers, body: Self.form(fields))
    }

    func send(_ uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws
        -> TestResponse
    {
        var headers = headers
        if headers[.cookie] == nil, !cookies.isEmpty {
            headers[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: "; ")
        }
        if headers[.init("X-Real-IP")!] == nil { headers[.init("X-Real-IP")!] = "192.0.2.10" }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        lastSetCookies = response.headers[values: .setCookie]
        for cookie in lastSetCookies {
            guard let equals = cookie.firstIndex(of: "=") else { continue }
            let name = String(cookie[..<equals])
            let value = cookie[cookie.index(after: equals)...].prefix { $0 != ";" }
            cookies[name] = value.isEmpty || cookie.contains("Max-Age=0") ? nil : String(value)
        }
        return response
    }

    /// The value of the hidden CSRF field in a page.
    static func csrf(in response: TestResponse) -> String? {
        let page = String(buffer: response.body)
        guard let range = page.range(of: "name=\"\(WebAuthNames.csrfField)\" value=\"") else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    @discardableResult
    func login(_ name: String = "anna", password: String = WebAuthHarness.password) async throws -> TestResponse {
        try await post(WebAuthNames.loginPath, [("username", name), ("password", password)])
    }

    /// Password step, then the code step; returns the final response.
    func login(_ name: String = "anna", secret: String, code: String) async throws -> TestResponse {
        try await login(name)
        let page = try await get(WebAuthNames.totpPath)
        return try await post(WebAuthNames.totpPath, [("csrf_token", Self.csrf(in: page) ?? ""), ("code", code)])
    }
}
