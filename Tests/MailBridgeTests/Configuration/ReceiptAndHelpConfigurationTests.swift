import Foundation
import PGPShim
import Testing
import ThreadStore

@testable import MailBridge

/// `[receipt]`, `[help]` and the mailbox's `help-link` and `receipt-template` (issue 17).
@Suite struct ReceiptAndHelpConfigurationTests {
    func problems(_ text: String) -> [ConfigurationError] {
        do {
            _ = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + text)
            return []
        } catch {
            return error.allErrors
        }
    }

    @Test func receiptsAreOnByDefaultOncePerDay() throws {
        let configuration = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox)
        #expect(configuration.receipt.enabled && configuration.receipt.periodHours == 24)
        #expect(configuration.receipt.period == 86_400)
        let off = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + "[receipt]\nenabled = false\n")
        #expect(off.receipt.period == nil)
        let weekly = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + "[receipt]\nperiod-hours = 168\n")
        #expect(weekly.receipt.period == Double(168 * 3600))
        #expect(problems("[receipt]\nperiod-hours = 0\n").map(\.option) == ["receipt.period-hours"])
        #expect(problems("[receipt]\nperiod-hours = 721\n").map(\.option) == ["receipt.period-hours"])
        #expect(problems("[receipt]\nenabled = \"yes\"\n").map(\.option) == ["receipt.enabled"])
        #expect(problems("[receipt]\ntext = \"hi\"\n").map(\.option) == ["receipt.text"])
    }

    @Test func helpIsServedByTheInboxServerUnlessItHasAPort() throws {
        let help = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox).help
        #expect(help.enabled && help.port == nil && help.link == nil)
        let own = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox + "[help]\nport = 8081\n").help
        #expect(own.port == 8081 && own.listen == "127.0.0.1")
        // A listen address alone would be silently unused.
        #expect(problems("[help]\nlisten = \"127.0.0.1\"\n").map(\.option) == ["help.listen"])
        // Beyond loopback only with TLS; certificate and key together; not the inbox server's port.
        #expect(problems("[help]\nlisten = \"0.0.0.0\"\nport = 8081\n").map(\.option) == ["help.listen"])
        #expect(problems("[help]\nlisten = \"0.0.0.0\"\nport = 443\ntls-certificate = \"/etc/c.pem\"\n"
                         + "tls-key = \"/etc/k.pem\"\n").isEmpty)
        #expect(problems("[help]\nport = 8081\ntls-certificate = \"/etc/c.pem\"\n").map(\.option) == ["help.tls-key"])
        #expect(problems("[help]\ntls-certificate = \"/etc/c.pem\"\ntls-key = \"/etc/k.pem\"\n").map(\.option)
                == ["help.tls-certificate"])
        #expect(problems("[help]\nport = 8080\n").map(\.option) == ["help.port"])
        #expect(problems("[help]\nport = 0\n").map(\.option) == ["help.port"])
    }

    @Test func helpLinkIsAnHTTPSURLPerMailboxOrGlobal() throws {
        let global = try BridgeConfiguration.parse(
            ConfigurationErrorTests.mailbox + "[help]\nlink = \"https://hilfe.example.org/help\"\n")
        #expect(global.help.link?.string == "https://hilfe.example.org/help")
        #expect(global.mailboxes.first?.helpLink?.string == "https://hilfe.example.org/help")
        let own = try BridgeConfiguration.parse(
            ConfigurationErrorTests.mailbox + "help-link = \"https://hilfe.example.org/sucht\"\n"
                + "[help]\nlink = \"https://hilfe.example.org/help\"\n")
        #expect(own.mailboxes.first?.helpLink?.string == "https://hilfe.example.org/sucht")
        for bad in ["http://hilfe.example.org", "https://hilfe.example.org/{{link}}", "hilfe"] {
            #expect(problems("help-link = \"\(bad)\"\n").map(\.option) == ["mailbox[1].help-link"], "\(bad)")
            #expect(problems("[help]\nlink = \"\(bad)\"\n").map(\.option) == ["help.link"], "\(bad)")
        }
    }

    @Test func builtInRedirectNamesTheHelpLinkOnlyWhenConfigured() throws {
        let key = try KeyFingerprint(String(repeating: "A", count: 40))
        var configured = try #require(try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox).mailboxes.first)
        let plain = try PipelineMailbox(configured, gatewayKey: key)
        #expect(!plain.redirectTemplate.body.contains("verschlüsselt per E-Mail"))
        #expect(!plain.redirectTemplate.body.contains("{{"))
        configured.helpLink = try RedirectLink("https://hilfe.example.org/help")
        let withHelp = try PipelineMailbox(configured, gatewayKey: key)
        #expect(withHelp.redirectTemplate.body.contains("verschlüsselt per E-Mail schreiben"))
        #expect(withHelp.redirectTemplate.body.contains("https://hilfe.example.org/help\n"))
        #expect(withHelp.redirectTemplate.body.contains("https://beratung.example.org/login\n"))
        #expect(!withHelp.redirectTemplate.body.contains("{{"))
        configured.language = .en
        let english = try PipelineMailbox(configured, gatewayKey: key)
        #expect(english.redirectTemplate.body.contains("encrypted e-mail. This page explains how:\n"
                                                       + "https://hilfe.example.org/help"))
        #expect(english.receiptTemplate.body.contains("We usually answer within two working"))
    }

    @Test func customRedirectWithHelpLinkNeedsOneAndClientPlaceholdersStayForbidden() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let good = try folder.write("good.txt", "Plattform: {{link}}\nVerschlüsselt: {{ help-link }}\n")
        let bad = try folder.write("bad.txt", "{{link}} {{help-link}} {{subject}}\n")
        let receipt = try folder.write("receipt.txt", "Danke, {{sender}}.\n")
        let base = ConfigurationErrorTests.mailbox
        // Without a help link the file that uses it is refused, at check time, naming the option.
        var result = ConfigurationCheck.run(
            file: try folder.write("a.toml", base + "redirect-template = \"\(good)\"\n"))
        #expect(result.errors.map(\.option) == ["mailbox[1].redirect-template"])
        #expect(result.output.contains("{{help-link}}"))
        // With one it renders both links.
        let withLink = base + "redirect-template = \"\(good)\"\nhelp-link = \"https://hilfe.example.org/h\"\n"
        result = ConfigurationCheck.run(file: try folder.write("b.toml", withLink))
        #expect(!result.errors.contains { $0.option?.hasPrefix("mailbox") == true }, "\(result.output)")
        let mailbox = try #require(try BridgeConfiguration.parse(withLink).mailboxes.first)
        let rendered = try PipelineMailbox(mailbox, gatewayKey: try KeyFingerprint(String(repeating: "B", count: 40)))
        #expect(rendered.redirectTemplate.body
                == "Plattform: https://beratung.example.org/login\nVerschlüsselt: https://hilfe.example.org/h\n")
        // A client-content placeholder is refused beside it; the receipt allows no placeholder at all.
        result = ConfigurationCheck.run(file: try folder.write(
            "c.toml", base + "redirect-template = \"\(bad)\"\nhelp-link = \"https://hilfe.example.org/h\"\n"
                + "receipt-template = \"\(receipt)\"\n"))
        #expect(result.errors.map(\.option) == ["mailbox[1].redirect-template", "mailbox[1].receipt-template"])
        #expect(result.output.contains("{{subject}} is not allowed") && result.output.contains("{{sender}}"))
        #expect(throws: TemplateError(.forbiddenPlaceholder("help-link"), kind: .replyWaiting)) {
            try MessageTemplate(kind: .replyWaiting, text: "{{link}} {{help-link}}")
        }
        #expect(throws: TemplateError(.forbiddenPlaceholder("help-link"), kind: .notify)) {
            try MessageTemplate(kind: .notify, text: "{{help-link}}")
        }
    }
}
