import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import NIOCore
import PGPShim
import ServiceLifecycle
import TestSupport
import Testing
import ThreadStore

/// The public encryption help page (issue 17): served without login under `/help` of the inbox server or on its
/// own listener, in German and English, with the mailbox key's fingerprint as gpg computes it from the key the
/// page offers for download (and WKD serves); no script, no cookie, a strict CSP; and in Chromium (screenshots
/// `help-de.png`, `help-en.png` in `.build/test-artifacts/`).
@Suite struct HelpPageTests {
    /// The fingerprint gpg reads from `key` (imported nowhere: `--import-options show-only`), as `fpr` field 10.
    static func gpgFingerprints(_ key: [UInt8], in client: GnuPGClient) throws -> [String] {
        let listing = try client.gpg(["--with-colons", "--import-options", "show-only", "--import"], stdin: key)
        return listing.stdout.text.split(separator: "\n").filter { $0.hasPrefix("fpr:") }
            .map { String($0.split(separator: ":", omittingEmptySubsequences: false)[9]) }
    }

    /// `hex` in groups of four, computed here independently of ``HelpDirectory/grouped(_:)``.
    static func groupsOfFour(_ hex: String) -> String {
        stride(from: 0, to: hex.count, by: 4).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return String(hex[start..<(hex.index(start, offsetBy: 4, limitedBy: hex.endIndex) ?? hex.endIndex)])
        }.joined(separator: " ")
    }

    private func webServices(_ pipe: PipelineHarness, help: HelpDirectory?) -> WebServices {
        var services = WebServices(store: pipe.store, replies: ReplyComposer(
            store: pipe.store, pgp: pipe.pgp, mailboxes: [pipe.mailbox], logger: pipe.logs.logger("reply")),
            logger: pipe.logs.logger("web"))
        services.help = help
        return services
    }

    @Test func inboxServerServesThePagePubliclyWithTheKeyGPGReads() async throws {
        let pipe = try await PipelineHarness()
        let directory = try await HelpDirectory.make(mailboxes: [pipe.mailbox], pgp: pipe.pgp, receiptPeriodHours: 48)
        let app = Application(router: WebRouter.make(services: webServices(pipe, help: directory)),
                              logger: pipe.logs.logger("hb"))
        try await app.test(.router) { client in
            // The key download: armored, application/pgp-keys, and gpg reads the mailbox's primary key from it.
            let keyPath = "/help/keys/\(pipe.gateway.hex).asc"
            let download = try await client.execute(uri: keyPath, method: .get)
            #expect(download.status == .ok)
            #expect(download.headers[.contentType] == "application/pgp-keys")
            #expect(download.headers[.contentDisposition]?.contains("attachment") == true)
            let key = Array(buffer: download.body)
            #expect(String(decoding: key, as: UTF8.self).hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----"))
            let fingerprints = try Self.gpgFingerprints(key, in: pipe.client)
            let primary = try #require(fingerprints.first)
            #expect(primary == pipe.gateway.hex)

            // German by Accept-Language (and by default), English by Accept-Language or ?lang=en.
            for (query, acceptLanguage, english) in [("", "de-DE,de;q=0.9", false), ("", "en-GB,en;q=0.8", true),
                                                     ("?lang=en", "de", true), ("?lang=de", "en", false),
                                                     ("", "", false)] {
                var headers: HTTPFields = [:]
                if !acceptLanguage.isEmpty { headers[.acceptLanguage] = acceptLanguage }
                // A leftover session cookie of the inbox is neither read nor cleared here.
                headers[.cookie] = "__Host-mb_session=\(String(repeating: "0", count: 64))"
                let page = try await client.execute(uri: "/help\(query)", method: .get, headers: headers)
                #expect(page.status == .ok)
                let html = String(buffer: page.body)
                #expect(html.contains("<html lang=\"\(english ? "en" : "de")\">"))
                #expect(html.contains(english ? "Writing encrypted e-mail" : "Verschlüsselt an die Online-Beratung"))
                #expect(html.contains("<span class=\"fingerprint\">\(Self.groupsOfFour(primary))</span>"))
                #expect(html.contains("href=\"\(keyPath)\""))
                #expect(html.contains("Thunderbird") && html.contains("GpgOL") && html.contains("FairEmail")
                        && html.contains("OpenKeychain") && html.contains("WKD"))
                #expect(html.contains(english ? "attach your public key" : "öffentlichen Schlüssel an"))
                #expect(html.contains(english ? "(at most one per conversation within 48 hours)"
                                              : "(höchstens eine pro Gespräch innerhalb von 48 Stunden)"))
                #expect(!html.lowercased().contains("<script"))
                #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil)  // no event handler
                #expect(!html.contains("<form") && !html.contains("style=\""))
                #expect(page.headers[values: .setCookie].isEmpty)
                let policy = try #require(page.headers[.contentSecurityPolicy])
                #expect(policy.contains("default-src 'none'") && policy.contains("form-action 'none'")
                        && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"))
                #expect(page.headers[.xContentTypeOptions] == "nosniff")
            }
            let css = try await client.execute(uri: "/help/help.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(try await client.execute(uri: "/help/keys/\(String(repeating: "A", count: 40)).asc",
                                             method: .get).status == .notFound)

            // WKD, both methods: the binary key of the address's local part.
            let hash = WebKeyDirectory.hashedLocalPart(pipe.mailbox.address.localPart)
            for path in ["/.well-known/openpgpkey/hu/\(hash)",
                         "/.well-known/openpgpkey/\(pipe.mailbox.address.domain)/hu/\(hash)"] {
                let wkd = try await client.execute(uri: path, method: .get)
                #expect(wkd.status == .ok, "\(path)")
                #expect(wkd.headers[.accessControlAllowOrigin] == "*")
                #expect(try Self.gpgFingerprints(Array(buffer: wkd.body), in: pipe.client).first == primary)
            }
            #expect(try await client.execute(uri: "/.well-known/openpgpkey/policy", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/.well-known/openpgpkey/hu/\(String(repeating: "y", count: 32))",
                                             method: .get).status == .notFound)

            // The inbox itself still needs a login.
            let inbox = try await client.execute(uri: "/threads", method: .get)
            #expect(inbox.status == .seeOther && inbox.headers[.location]?.hasPrefix("/login") == true)
        }
        await pipe.close()
    }

    @Test func withoutTheHelpDirectoryThereIsNoHelpRoute() async throws {
        let pipe = try await PipelineHarness()
        let app = Application(router: WebRouter.make(services: webServices(pipe, help: nil)),
                              logger: pipe.logs.logger("hb"))
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/help", method: .get)
            #expect(response.status != .ok)
        }
        await pipe.close()
    }

    /// The page's own listener serves the page (at / and /help) and nothing of the inbox; in Chromium it has no
    /// script, no cookie, its stylesheet applies under the CSP, and the fingerprint is the key's.
    @Test func ownListenerServesOnlyThePageAndChromiumShowsIt() async throws {
        let pipe = try await PipelineHarness()
        let directory = try await HelpDirectory.make(mailboxes: [pipe.mailbox], pgp: pipe.pgp,
                                                     receiptPeriodHours: nil)
        var configuration = BridgeConfiguration.Help()
        configuration.port = 0
        let server = try HelpServer(configuration: configuration, directory: directory,
                                    logger: pipe.logs.logger("help"))
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: pipe.logs.logger("group"))
        Task { try await group.run() }
        defer { Task { await group.triggerGracefulShutdown() } }
        let port = try #require(await server.localAddress().port)
        let base = "http://127.0.0.1:\(port)"

        func curl(_ path: String) throws -> (status: Int, headers: String, body: String) {
            let result = try Shell.run("curl", ["-s", "-i", "--max-time", "20", base + path])
            let text = result.stdout.text
            let parts = text.components(separatedBy: "\r\n\r\n")
            let status = Int(parts[0].split(separator: " ")[1]) ?? 0
            return (status, parts[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
        }
        let page = try curl("/help?lang=en")
        #expect(page.status == 200 && page.body.contains("Writing encrypted e-mail"))
        #expect(!page.headers.lowercased().contains("set-cookie"))
        #expect(page.headers.contains("default-src 'none'"))
        #expect(page.body.contains(Self.groupsOfFour(pipe.gateway.hex)))
        #expect(!page.body.contains("Eingangsbestätigung") && !page.body.contains("confirmation"))  // receipts off
        #expect(try curl("/").body.contains("Verschlüsselt an die Online-Beratung"))
        for inboxPath in ["/threads", "/login", "/api/v1/threads", "/static/auth.css"] {
            #expect(try curl(inboxPath).status == 404, "\(inboxPath)")
        }

        guard BrowserDriver.unavailableReason == nil else { await pipe.close(); return }
        let artifacts = BrowserInboxTests.artifacts
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let shots = ["help-de.png", "help-en.png"].map { artifacts.appendingPathComponent($0) }
        for shot in shots { try? FileManager.default.removeItem(at: shot) }
        let report = try BrowserDriver.capturePublicPages(
            base: base, pages: [("/help?lang=de", shots[0]), ("/help?lang=en", shots[1])], workDirectory: pipe.root)
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.pages.map(\.lang) == ["de", "en"])
        for shown in report.pages {
            #expect(shown.scripts == 0 && shown.documentCookie.isEmpty && shown.cookies.isEmpty)
            #expect(shown.fingerprints == [Self.groupsOfFour(pipe.gateway.hex)])
            #expect(shown.keyLinks == ["/help/keys/\(pipe.gateway.hex).asc"])
            #expect(shown.styled == "736px")  // 46rem: the stylesheet was allowed by the CSP and applied
            #expect(shown.text.contains(PipelineHarness.counselling))
        }
        for shot in shots {
            let size = try FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int ?? 0
            #expect(size > 10_000, "\(shot.lastPathComponent)")
        }
        await pipe.close()
    }

    /// `[help] tls-certificate`/`tls-key`: the own listener speaks HTTPS (with a certificate curl verifies) and
    /// refuses plain HTTP; an unreadable certificate is a clear start error naming the section.
    @Test func ownListenerOverTLS() async throws {
        let pipe = try await PipelineHarness()
        let certificate = pipe.root.appendingPathComponent("help.pem").path
        let key = pipe.root.appendingPathComponent("help.key").path
        try Shell.run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", key, "-out", certificate,
        ])
        let directory = try await HelpDirectory.make(mailboxes: [pipe.mailbox], pgp: pipe.pgp, receiptPeriodHours: 24)
        var configuration = BridgeConfiguration.Help()
        configuration.port = 0
        configuration.tlsCertificate = try AbsolutePath(certificate)
        configuration.tlsKey = try AbsolutePath(key)
        let server = try HelpServer(configuration: configuration, directory: directory, logger: pipe.logs.logger())
        let running = Task { try await server.run() }
        defer { running.cancel() }
        let port = try #require(await server.localAddress().port)
        let https = try await offCooperativePool {
            try Shell.run("curl", ["-s", "--max-time", "20", "--cacert", certificate,
                                   "https://127.0.0.1:\(port)/help"], allowFailure: true)
        }
        #expect(https.stdout.text.contains(HelpDirectory.grouped(pipe.gateway)))
        let plain = try await offCooperativePool {
            try Shell.run("curl", ["-s", "--max-time", "20", "http://127.0.0.1:\(port)/help"], allowFailure: true)
        }
        #expect(!plain.stdout.text.contains("fingerprint"))

        configuration.tlsCertificate = try AbsolutePath(pipe.root.path + "/missing.pem")
        #expect {
            _ = try HelpServer(configuration: configuration, directory: directory, logger: pipe.logs.logger())
        } throws: { error in
            "\(error)".contains("[help] TLS certificate")
        }
        await pipe.close()
    }

    /// The gateway with `[help] port`: the page on its own listener, and the inbox server without it.
    @Test func gatewayWithAHelpPortServesThePageOnlyThere() async throws {
        let folder = URL(fileURLWithPath: "/tmp/mb-help-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.metrics.enabled = false
        configuration.web.port = 0
        configuration.help.port = 0
        let logs = LogCapture()
        let gateway = try await Gateway.start(configuration, logger: logs.logger())
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        let running = Task { try await gateway.run() }
        let help = try #require(gateway.help)
        let helpPort = try #require(await help.localAddress().port)
        let webPort = try #require(await gateway.web?.localAddress().port)
        let key = try #require(gateway.gatewayKeys["beratung@localhost"])
        func status(_ port: Int, _ path: String) async throws -> (Int, String) {
            try await offCooperativePool {
                let result = try Shell.run("curl", ["-s", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}",
                                                    "http://127.0.0.1:\(port)\(path)"])
                let text = result.stdout.text
                let code = Int(text.split(separator: "\n").last ?? "") ?? 0
                return (code, text)
            }
        }
        let page = try await status(helpPort, "/help")
        #expect(page.0 == 200 && page.1.contains(HelpDirectory.grouped(key)))
        #expect(try await status(helpPort, "/login").0 == 404)
        #expect(try await status(webPort, "/help").0 != 200)  // the inbox server does not serve it then
        #expect(try await status(webPort, "/login").0 == 200)
        running.cancel()
        _ = await running.result
        try? gateway.store.close()
    }

    /// Plain mail gets the redirect whose built-in text names the help page when a help link is configured.
    @Test func redirectNamesTheHelpLink() async throws {
        let pipe = try await PipelineHarness()
        var configured = BridgeConfiguration.Mailbox(
            address: try EmailAddress(PipelineHarness.counselling), field: "suchtberatung",
            teamNotificationAddress: try EmailAddress(PipelineHarness.team),
            redirectLink: try RedirectLink("https://beratung.example/login"), language: .de)
        configured.helpLink = try RedirectLink("https://hilfe.beratung.example/help")
        let mailbox = try PipelineMailbox(configured, gatewayKey: pipe.gateway)
        let pipeline = Pipeline(store: pipe.store, pgp: pipe.pgp, configuration: .init(mailboxes: [mailbox]),
                                logger: pipe.logs.logger("pipeline"))
        let raw = "From: klient@example.net\nTo: \(PipelineHarness.counselling)\nSubject: Hilfe\n"
            + "Message-ID: <plain@example.net>\n\nHallo, ich brauche Hilfe.\n"
        #expect(try await pipeline.accept(try pipe.spool(raw, from: "klient@example.net")) == .redirected)
        let redirect = try #require(try await pipe.outbox().first { $0.kind == .redirectReply })
        let text = redirect.payload.text.replacingOccurrences(of: "=\r\n", with: "")
        #expect(text.contains("https://hilfe.beratung.example/help"))
        #expect(text.contains("https://beratung.example/login"))
        #expect(!text.contains("{{"))
        await pipe.close()
    }

    /// Issue 29: each address names its organisation; `?organisation=ID` shows one organisation's addresses under
    /// its name (escaped), keeps it in the language link, and an unknown ID shows the whole page.
    @Test func thePageNamesEachAddresssOrganisationAndShowsOneOnRequest() async throws {
        let pipe = try await PipelineHarness()
        var directory = try await HelpDirectory.make(mailboxes: [pipe.mailbox], pgp: pipe.pgp, receiptPeriodHours: nil)
        var other = try #require(directory.entries.first)
        other.address = try EmailAddress("familie@example.org")
        directory.entries.append(other)
        directory.organisations = [
            pipe.mailbox.address.canonical: .init(id: "caritas", name: "Caritas <Köln>"),
            "familie@example.org": .init(id: "diakonie", name: "Diakonie Bonn"),
        ]
        let own = pipe.mailbox.address.unredactedDescription
        let app = Application(router: WebRouter.make(services: webServices(pipe, help: directory)),
                              logger: pipe.logs.logger("hb"))
        try await app.test(.router) { client in
            let all = String(buffer: try await client.execute(uri: "/help?lang=en", method: .get).body)
            #expect(all.contains("<p>Organisation: Caritas &lt;Köln&gt;</p>") && all.contains("Diakonie Bonn"))
            #expect(all.contains(own) && all.contains("familie@example.org"))
            let one = String(buffer: try await client.execute(uri: "/help?lang=en&organisation=diakonie",
                                                              method: .get).body)
            #expect(one.contains("<p class=\"organisation\">Diakonie Bonn</p>") && one.contains("familie@example.org"))
            #expect(!one.contains(own) && !one.contains("Caritas"))
            #expect(one.contains("?lang=de&amp;organisation=diakonie"))
            let unknown = String(buffer: try await client.execute(uri: "/help?organisation=nope", method: .get).body)
            #expect(unknown.contains(own) && unknown.contains("familie@example.org") && !unknown.contains("nope"))
        }
    }
}
