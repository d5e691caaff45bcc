import Foundation
import PGPShim
import Testing
import ThreadStore

@testable import MailBridge

/// Issue 22: `[[mailbox]] assign-on-reply` and `[web] organisation-name`.
@Suite struct InboxConfigurationTests {
    func problems(_ text: String) -> [ConfigurationError] {
        do {
            _ = try BridgeConfiguration.parse(text)
            return []
        } catch {
            return error.allErrors
        }
    }

    @Test func defaultsAssignOnReplyAndNoOrganisationName() throws {
        let configuration = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox)
        #expect(configuration.mailboxes[0].assignOnReply)
        #expect(configuration.web.organisationName == nil)
        #expect(WebAuthSettings(configuration.web).organisationName == nil)
        let mailbox = try PipelineMailbox(configuration.mailboxes[0],
                                          gatewayKey: try KeyFingerprint(String(repeating: "A", count: 40)))
        #expect(mailbox.assignOnReply)
    }

    @Test func valuesAreReadAndReachTheirUsers() throws {
        let text = ConfigurationErrorTests.mailbox.replacingOccurrences(
            of: "redirect-link", with: "assign-on-reply = false\nredirect-link")
            + "[web]\norganisation-name = \"Beratungsstelle Musterstadt\"\n"
        let configuration = try BridgeConfiguration.parse(text)
        #expect(configuration.mailboxes[0].assignOnReply == false)
        #expect(configuration.web.organisationName == "Beratungsstelle Musterstadt")
        #expect(WebAuthSettings(configuration.web).organisationName == "Beratungsstelle Musterstadt")
        let mailbox = try PipelineMailbox(configuration.mailboxes[0],
                                          gatewayKey: try KeyFingerprint(String(repeating: "A", count: 40)))
        #expect(mailbox.assignOnReply == false)
    }

    @Test func badValuesAreReportedWithTheirOption() {
        let notBool = ConfigurationErrorTests.mailbox.replacingOccurrences(
            of: "redirect-link", with: "assign-on-reply = \"ja\"\nredirect-link")
        #expect(problems(notBool).map(\.option) == ["mailbox[1].assign-on-reply"])
        for bad in ["\"\"", "\"\(String(repeating: "x", count: 121))\"", "\"a\\u0007b\"", "42"] {
            #expect(problems(ConfigurationErrorTests.mailbox + "[web]\norganisation-name = \(bad)\n").map(\.option)
                    == ["web.organisation-name"], "\(bad)")
        }
    }

    /// The example configuration documents both keys (commented out, at their defaults).
    @Test func theExampleNamesBothKeys() {
        #expect(BridgeConfiguration.exampleText.contains("# assign-on-reply = true"))
        #expect(BridgeConfiguration.exampleText.contains("# organisation-name = "))
    }
}
