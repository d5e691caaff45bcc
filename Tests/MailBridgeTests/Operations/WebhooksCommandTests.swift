import Foundation
import TestSupport
import Testing

/// `mailbridge webhooks` (issue 29) through the built executable: a new secret in the specification's form, the
/// list of an installation without events (text and JSON), and usage errors for a bad state, limit or ID.
@Suite struct WebhooksCommandTests {
    @Test func newSecretListAndRetryAnswerAsDocumented() throws {
        let binary = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        let folder = try TemporaryFolder()
        let data = folder.path + "/data"
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", data + "/gnupg", "--kill", "all"], allowFailure: true)
            folder.remove()
        }
        let first = try runProcess(binary, ["webhooks", "new-secret"])
        let second = try runProcess(binary, ["webhooks", "new-secret"])
        let secret = first.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(first.status == 0 && secret.hasPrefix("whsec_"), "\(first.output)")
        #expect(Data(base64Encoded: String(secret.dropFirst(6)))?.count == 32)
        #expect(secret != second.output.trimmingCharacters(in: .whitespacesAndNewlines))

        let embedded = ["--embedded", "--data-dir", data]
        let list = try runProcess(binary, ["webhooks", "list"] + embedded)
        #expect(list.status == 0, "\(list.output)")
        #expect(list.output.contains("webhook: not configured") && list.output.contains("0 pending, 0 delivered, 0 failed"))
        let json = try runProcess(binary, ["webhooks", "list", "--json", "--state", "failed"] + embedded)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any], "\(json.output)")
        #expect(document["configured"] as? Bool == false && (document["events"] as? [Any])?.isEmpty == true)
        #expect((document["counts"] as? [String: Int]) == ["pending": 0, "delivered": 0, "failed": 0])

        #expect(try runProcess(binary, ["webhooks", "list", "--state", "lost"] + embedded).status == 2)
        #expect(try runProcess(binary, ["webhooks", "list", "--limit", "0"] + embedded).status == 2)
        let badID = try runProcess(binary, ["webhooks", "retry", "xyz"] + embedded)
        #expect(badID.status == 2 && badID.output.contains("not a webhook event ID"), "\(badID.output)")
        let unknown = try runProcess(binary, ["webhooks", "retry", String(repeating: "0a", count: 16)] + embedded)
        #expect(unknown.status == 2 && unknown.output.contains("no failed webhook event"), "\(unknown.output)")
        let disable = try runProcess(binary, ["webhooks", "disable"] + embedded)
        #expect(disable.status == 0 && disable.output.contains("no longer recorded"), "\(disable.output)")
    }
}
