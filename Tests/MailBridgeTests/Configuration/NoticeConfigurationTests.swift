import Foundation
import Testing
import PGPShim
import ThreadStore

@testable import MailBridge

/// `[notices] inbox-url`, `[[mailbox]] team-notification-mode` and `[metrics] waiting-thresholds-hours`.
@Suite struct NoticeConfigurationTests {
    func problems(_ text: String) -> [ConfigurationError] {
        do {
            _ = try BridgeConfiguration.parse(text)
            return []
        } catch {
            return error.allErrors
        }
    }

    @Test func defaultsAreEachMessageNoInboxURLAndTwoThresholds() throws {
        let configuration = try BridgeConfiguration.parse(ConfigurationErrorTests.mailbox)
        #expect(configuration.mailboxes[0].teamNotificationMode == .eachMessage)
        #expect(configuration.notices.inboxURL == nil)
        #expect(configuration.metrics.waitingThresholdsHours == [24, 48])
        #expect(NoticeSettings(configuration).inboxLink == nil)
    }

    @Test func valuesAreRead() throws {
        let text = ConfigurationErrorTests.mailbox.replacingOccurrences(
            of: "redirect-link", with: "team-notification-mode = \"hourly\"\nredirect-link")
            + "[metrics]\nwaiting-thresholds-hours = [72, 8, 72]\n[notices]\ninbox-url = \"https://inbox.example/\"\n"
        let configuration = try BridgeConfiguration.parse(text)
        #expect(configuration.mailboxes[0].teamNotificationMode == .hourly)
        #expect(configuration.metrics.waitingThresholdsHours == [8, 72])
        #expect(configuration.notices.inboxURL == "https://inbox.example")
        let field = try CounsellingField("suchtberatung")
        let link = try #require(NoticeSettings(configuration).inboxLink)
        #expect(link.list.value == "https://inbox.example/threads")
        let mailbox = try PipelineMailbox(configuration.mailboxes[0], gatewayKey: try KeyFingerprint(
            String(repeating: "A", count: 40)))
        #expect(mailbox.teamNoticeMode == .hourly && mailbox.field == field)
    }

    @Test func webPublicURLIsTheDefaultInboxLink() throws {
        let configuration = try BridgeConfiguration.parse(
            ConfigurationErrorTests.mailbox + "[web]\npublic-url = \"https://inbox.beratung.example\"\n")
        #expect(NoticeSettings(configuration).inboxLink?.base == "https://inbox.beratung.example")
    }

    @Test func badValuesAreReportedWithTheirOption() {
        let mode = ConfigurationErrorTests.mailbox.replacingOccurrences(
            of: "redirect-link", with: "team-notification-mode = \"weekly\"\nredirect-link")
        #expect(problems(mode).map(\.option) == ["mailbox[1].team-notification-mode"])
        for bad in ["http://inbox.example", "https://inbox.example/?a=b", "inbox.example", "https://u@inbox.example"] {
            #expect(problems(ConfigurationErrorTests.mailbox + "[notices]\ninbox-url = \"\(bad)\"\n").map(\.option)
                    == ["notices.inbox-url"], "\(bad)")
        }
        for bad in ["[0]", "[24, 99999]", "\"24\"", "[1,2,3,4,5,6,7,8,9,10,11]", "[\"a\"]"] {
            #expect(problems(ConfigurationErrorTests.mailbox + "[metrics]\nwaiting-thresholds-hours = \(bad)\n")
                    .map(\.option) == ["metrics.waiting-thresholds-hours"], "\(bad)")
        }
        #expect(problems(ConfigurationErrorTests.mailbox + "[notices]\ninbox-link = \"https://x.example\"\n")
                .map(\.option) == ["notices.inbox-link"])
    }
}
