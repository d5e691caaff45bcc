import Foundation
import Testing

@testable import MailBridge

/// `[webhook]` (issue 29): absent by default, its options and defaults, https:// only, the required secret file,
/// ranges, the TOML round trip, and `check-config` treating the secret file as a secret.
@Suite struct WebhookConfigurationTests {
    static let mailbox = ConfigurationErrorTests.mailbox
    static let webhook = """
        [webhook]
        url = "https://platform.example.org/hooks/mailbridge?tenant=7"
        secret-file = "/etc/mailbridge/webhook-secrets"

        """

    @Test func absentByDefaultAndItsDefaults() throws {
        #expect(try BridgeConfiguration.parse(Self.mailbox).webhook == nil)
        let configuration = try BridgeConfiguration.parse(Self.mailbox + Self.webhook)
        let webhook = try #require(configuration.webhook)
        #expect(webhook.url == "https://platform.example.org/hooks/mailbridge?tenant=7")
        #expect(webhook.secretFile.string == "/etc/mailbridge/webhook-secrets")
        #expect(webhook.caFile == nil && webhook.timeoutSeconds == 10 && webhook.retryHours == 72)
        #expect(try BridgeConfiguration.parse(configuration.tomlText).webhook == webhook)

        let full = try BridgeConfiguration.parse(Self.mailbox + Self.webhook
            + "ca-file = \"/etc/mailbridge/ca.pem\"\ntimeout-seconds = 3\nretry-hours = 1\n")
        #expect(full.webhook?.caFile?.string == "/etc/mailbridge/ca.pem")
        #expect(full.webhook?.timeoutSeconds == 3 && full.webhook?.retryHours == 1)
        #expect(try BridgeConfiguration.parse(full.tomlText).webhook == full.webhook)
    }

    @Test(arguments: [
        ("url = \"http://platform.example.org/hooks\"\nsecret-file = \"/etc/s\"\n", "webhook.url"),
        ("url = \"https://user:pw@platform.example.org/\"\nsecret-file = \"/etc/s\"\n", "webhook.url"),
        ("url = \"https:///hooks\"\nsecret-file = \"/etc/s\"\n", "webhook.url"),
        ("url = \"https://p.example.org/#x\"\nsecret-file = \"/etc/s\"\n", "webhook.url"),
        ("url = \"https://10.0.0.5:99999/hook\"\nsecret-file = \"/etc/s\"\n", "webhook.url"),
        ("url = \"https://p.example.org:0/\"\nsecret-file = \"/etc/s\"\n", "webhook.url"),
        ("secret-file = \"/etc/s\"\n", "webhook.url"),
        ("url = \"https://p.example.org/\"\n", "webhook.secret-file"),
        ("url = \"https://p.example.org/\"\nsecret-file = \"s\"\n", "webhook.secret-file"),
        ("url = \"https://p.example.org/\"\nsecret-file = \"/etc/s\"\ntimeout-seconds = 0\n", "webhook.timeout-seconds"),
        ("url = \"https://p.example.org/\"\nsecret-file = \"/etc/s\"\nretry-hours = 721\n", "webhook.retry-hours"),
        ("url = \"https://p.example.org/\"\nsecret-file = \"/etc/s\"\nsecret = \"whsec_x\"\n", "webhook.secret"),
    ])
    func badSectionsAreReportedByOption(section: String, option: String) throws {
        do {
            _ = try BridgeConfiguration.parse(Self.mailbox + "[webhook]\n" + section)
            Issue.record("accepted: \(section)")
        } catch {
            #expect(error.option == option, "\(error)")
        }
    }

    @Test func theSecretFileIsCheckedAsASecret() throws {
        #expect(ReferencedFileCheck.kind(of: "webhook.secret-file") == .secret)
        #expect(ReferencedFileCheck.kind(of: "webhook.ca-file") == .plain)
    }
}
