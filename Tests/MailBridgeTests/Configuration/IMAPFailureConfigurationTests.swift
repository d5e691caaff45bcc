import Foundation
import Testing

@testable import MailBridge

/// `[[imap]] failed-folder`, `max-fetch-attempts` and `max-message-bytes` (issue 28): defaults, values, ranges,
/// conflicts, the TOML round trip, and the fetcher limits the gateway derives from them.
@Suite struct IMAPFailureConfigurationTests {
    static let mailbox = ConfigurationErrorTests.mailbox
    static let source = """
        [[imap]]
        host = "imap.example.org"
        username = "beratung"
        password-file = "/etc/mailbridge/imap-password"
        deliver-to = "beratung@example.org"

        """

    @Test func defaults() throws {
        let configuration = try BridgeConfiguration.parse(Self.mailbox + Self.source)
        let source = try #require(configuration.imapSources.first)
        #expect(source.failedFolder == "MailBridge/Failed")
        #expect(source.maxFetchAttempts == 3)
        #expect(source.maxMessageBytes == nil)
        // Without max-message-bytes the SMTP limit applies.
        #expect(IMAPFetcher.Limits.fromConfiguration(configuration).maximumMessageSize
                == configuration.smtp.maxMessageSize)
    }

    @Test func valuesAreReadAndRoundTrip() throws {
        let text = Self.mailbox + "[smtp]\nmax-message-size = 5000000\n" + Self.source + """
            failed-folder = "Quarantaene"
            max-fetch-attempts = 5
            max-message-bytes = 1048576

            """
        let configuration = try BridgeConfiguration.parse(text)
        let source = try #require(configuration.imapSources.first)
        #expect(source.failedFolder == "Quarantaene")
        #expect(source.maxFetchAttempts == 5)
        #expect(source.maxMessageBytes == 1_048_576)
        #expect(IMAPFetcher.Limits.fromConfiguration(configuration).maximumMessageSize == 5_000_000)
        let again = try BridgeConfiguration.parse(configuration.tomlText)
        #expect(again.imapSources == configuration.imapSources)
    }

    @Test func outOfRangeAndConflictsAreReported() throws {
        let attempts = ConfigurationErrorTests().problems(Self.mailbox + Self.source + "max-fetch-attempts = 0\n")
        #expect(attempts.map(\.option) == ["imap[1].max-fetch-attempts"])
        #expect(attempts.first?.code == .outOfRange)
        let bytes = ConfigurationErrorTests().problems(Self.mailbox + Self.source + "max-message-bytes = 10\n")
        #expect(bytes.map(\.option) == ["imap[1].max-message-bytes"])
        let same = ConfigurationErrorTests().problems(
            Self.mailbox + Self.source + "failed-folder = \"MailBridge/Imported\"\n")
        #expect(same.map(\.option) == ["imap[1].failed-folder"])
        #expect(same.first?.code == .conflictingOptions)
        let inbox = ConfigurationErrorTests().problems(Self.mailbox + Self.source + "failed-folder = \"INBOX\"\n")
        #expect(inbox.map(\.option) == ["imap[1].failed-folder"])
    }
}
