import Foundation
import Testing
import ThreadStore

@testable import MailBridge

/// The `[web]` section: loopback unless TLS, certificate and key together, an https origin without a path.
@Suite struct WebConfigurationTests {
    func problems(_ web: String) -> [ConfigurationError] {
        do {
            _ = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + "[web]\n" + web)
            return []
        } catch {
            return error.allErrors
        }
    }

    @Test func defaultsAreLoopbackWithSecureCookiesAndSecondFactor() throws {
        let web = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox).web
        #expect(web.enabled && web.listen == "127.0.0.1" && web.port == 8080)
        #expect(web.secureCookies && web.requireSecondFactor)
        #expect(web.sessionIdleMinutes == 30 && web.sessionMaxHours == 12)
        #expect(web.tlsCertificate == nil && web.publicURL == nil)
    }

    @Test func publicAddressWithoutTLSIsRefused() {
        let found = problems("listen = \"0.0.0.0\"\n")
        #expect(found.map(\.option) == ["web.listen"])
        #expect(found.first?.description.contains("0.0.0.0") == false)
        #expect(problems("listen = \"0.0.0.0\"\ntls-certificate = \"/etc/c.pem\"\ntls-key = \"/etc/k.pem\"\n").isEmpty)
    }

    @Test func certificateWithoutKeyIsRefused() {
        #expect(problems("tls-certificate = \"/etc/c.pem\"\n").map(\.option) == ["web.tls-key"])
    }

    @Test func publicURLMustBeAnHTTPSOrigin() throws {
        for bad in ["http://inbox.example", "https://inbox.example/path", "inbox.example", "https://u@inbox.example"] {
            #expect(problems("public-url = \"\(bad)\"\n").map(\.option) == ["web.public-url"], "\(bad)")
        }
        let web = try BridgeConfiguration.parse(
            ConfigurationErrorTests.mailbox + "[web]\npublic-url = \"https://inbox.example/\"\n").web
        #expect(web.publicURL == "https://inbox.example")
    }

    @Test func limitsAreRangeChecked() {
        #expect(problems("session-idle-minutes = 0\n").map(\.option) == ["web.session-idle-minutes"])
        #expect(problems("session-max-hours = 1000\n").map(\.option) == ["web.session-max-hours"])
        #expect(problems("port = 70000\n").map(\.option) == ["web.port"])
    }

    @Test func timeZoneIsAnIANANameAndPagesShowTimesInIt() throws {
        #expect(problems("time-zone = \"Mars/Olympus\"\n").map(\.option) == ["web.time-zone"])
        #expect(problems("time-zone = 1\n").map(\.option) == ["web.time-zone"])
        let web = try BridgeConfiguration.parse(
            ConfigurationErrorTests.mailbox + "[web]\ntime-zone = \"Europe/Berlin\"\n").web
        #expect(web.timeZone == "Europe/Berlin")
        #expect(try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox).web.timeZone == nil)
        // 2026-07-01 10:00 UTC is 12:00 in Berlin (summer time) and 10:00 in UTC.
        let counsellor = Counsellor(id: try AccountID(String(repeating: "a", count: 32)), username: "anna",
                                    displayName: "Anna", role: .counsellor, fields: [], language: .german)
        let instant = Date(timeIntervalSince1970: 1_782_900_000)
        func shown(_ zone: String) -> String {
            PageChrome(strings: .for(.german), counsellor: counsellor, csrfToken: "x",
                       timeZone: TimeZone(identifier: zone)!).date(instant).rendered
        }
        #expect(shown("Europe/Berlin").contains(">01.07.2026, 12:00<"), "\(shown("Europe/Berlin"))")
        #expect(shown("UTC").contains(">01.07.2026, 10:00<"))
        // The machine-readable attribute stays UTC.
        #expect(shown("Europe/Berlin").contains("datetime=\"2026-07-01T10:00:00Z\""))
    }

    @Test func clientAddressHeaderOnlyBehindALoopbackListener() throws {
        #expect(problems("client-address-header = \"X-Real-IP\"\n").isEmpty)
        #expect(problems("client-address-header = \"X Real\"\n").map(\.option) == ["web.client-address-header"])
        let public_ = "listen = \"0.0.0.0\"\ntls-certificate = \"/etc/c.pem\"\ntls-key = \"/etc/k.pem\"\n"
        #expect(problems(public_ + "client-address-header = \"X-Real-IP\"\n").map(\.option)
            == ["web.client-address-header"])
    }

    /// A cookie without `Secure` set over HTTPS would also be sent to plain http:// on the same host.
    @Test func insecureCookiesOnlyForPlainLoopback() throws {
        #expect(problems("secure-cookies = false\n").isEmpty)
        #expect(problems("secure-cookies = false\npublic-url = \"https://inbox.example\"\n").map(\.option)
            == ["web.secure-cookies"])
        #expect(problems("secure-cookies = false\ntls-certificate = \"/etc/c.pem\"\ntls-key = \"/etc/k.pem\"\n")
            .map(\.option) == ["web.secure-cookies"])
    }

    /// Browsers leave the default port out of `Origin`, so `https://host:443` must allow `https://host`.
    @Test func publicURLDefaultPortIsDroppedFromTheAllowedOrigin() throws {
        var web = BridgeConfiguration.Web()
        web.publicURL = "https://Inbox.example:443"
        #expect(WebAuthSettings(web).allowedOrigins == ["https://inbox.example"])
        web.publicURL = "https://inbox.example:8443"
        #expect(WebAuthSettings(web).allowedOrigins == ["https://inbox.example:8443"])
    }

    @Test func authenticationSettingsFollowTheSection() throws {
        let web = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + """
            [web]
            public-url = "https://inbox.example"
            client-address-header = "X-Real-IP"
            require-second-factor = false
            session-idle-minutes = 10
            session-max-hours = 2

            """).web
        let settings = WebAuthSettings(web)
        #expect(settings.allowedOrigins == ["https://inbox.example"])
        #expect(settings.clientAddressHeader == "X-Real-IP")
        #expect(settings.secureCookies && !settings.requireSecondFactor)
        #expect(settings.idleTimeout == 600 && settings.absoluteTimeout == 7200)
        #expect(settings.bcryptCost == WebAuthSettings().bcryptCost)
    }

    @Test func writtenConfigurationReadsBack() throws {
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath("/var/lib/mb"))
        configuration.web.port = 8443
        configuration.web.publicURL = "https://inbox.example"
        configuration.web.sessionIdleMinutes = 15
        configuration.web.clientAddressHeader = "X-Forwarded-For"
        let read = try BridgeConfiguration.parse(configuration.tomlText)
        #expect(read.web == configuration.web)
    }
}

/// `[[imap]] ca-file` reaches the fetcher's certificate check (the Dovecot tests connect through it).
@Suite struct IMAPCAFileConfigurationTests {
    @Test func caFileIsReadAndWrittenBack() throws {
        let text = ConfigurationErrorTests.mailbox + """
            [[imap]]
            host = "imap.example.org"
            username = "beratung"
            password-file = "/etc/mailbridge/imap-password"
            deliver-to = "beratung@example.org"
            ca-file = "/etc/mailbridge/imap-ca.pem"

            """
        let configuration = try BridgeConfiguration.parse(text)
        #expect(configuration.imapSources.first?.caFile?.string == "/etc/mailbridge/imap-ca.pem")
        #expect(IMAPFetcher.Source(configuration.imapSources[0]).caFile == "/etc/mailbridge/imap-ca.pem")
        #expect(try BridgeConfiguration.parse(configuration.tomlText).imapSources == configuration.imapSources)
        let relative = text.replacingOccurrences(of: "\"/etc/mailbridge/imap-ca.pem\"", with: "\"imap-ca.pem\"")
        #expect(throws: (any Error).self) { try BridgeConfiguration.parse(relative) }
    }
}
