import Foundation
import MailValues
import Testing

@testable import MailBridge

@Suite struct ExampleConfigurationTests {
    static let examplePath = packageRoot.appendingPathComponent("Config/mailbridge.example.toml").path

    /// The example with every switched-off option line (`# key = value`, `# [table]`) switched on.
    static func uncommented(_ text: String) -> String {
        let option = try! NSRegularExpression(
            pattern: #"^# ?((\[\[?[a-z.]+\]\]?)|(([a-z][a-z0-9-]*|"[^"]+") = .*))$"#)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let string = String(line)
            let range = NSRange(string.startIndex..., in: string)
            guard let match = option.firstMatch(in: string, range: range),
                let body = Range(match.range(at: 1), in: string)
            else { return string }
            return String(string[body])
        }.joined(separator: "\n")
    }

    @Test func exampleLoadsAndValidates() throws {
        let configuration = try BridgeConfiguration.load(file: Self.examplePath)
        #expect(configuration.mailboxes.count == 1)
        #expect(configuration.smtp.listen == "127.0.0.1")
        #expect(configuration.keys.masterKeyFile.string == "/etc/mailbridge/master.key")
        let check = ConfigurationCheck.run(file: Self.examplePath)
        #expect(check.status == .success, "\(check.output)")
    }

    @Test func everyOptionTheLoaderKnowsIsDocumentedInTheExample() throws {
        let text = Self.uncommented(try packageFile("Config/mailbridge.example.toml"))
        let report = BridgeConfiguration.optionReport(readingFrom: text)
        // Switched-on example lines are all known options (no typos in the documentation) …
        #expect(report.errors.filter { $0.code == .unknownOption || $0.code == .syntax }.isEmpty,
                "\(report.errors)")
        // … and every option the loader reads appears in the example.
        let undocumented = report.known.subtracting(report.present)
        #expect(undocumented.isEmpty, "options missing from Config/mailbridge.example.toml: \(undocumented.sorted())")
        // A sanity check that the comparison sees all sections, including the switched-off ones.
        for option in ["smtp.min-data-rate", "mailbox[].reply-waiting-template", "imap[].move-to-folder",
                       "smarthost.password-file", "limits.mime.max-decompressed-size", "retention.fields",
                       "keys.passphrase-file", "metrics.enabled"] {
            #expect(report.known.contains(option), "\(option)")
        }
        #expect(report.known.count >= 50)
    }

    @Test func everyDocumentedOptionStatesItsDefault() throws {
        // Each option line's comment block (the prose lines above it) says "Default" or "Required".
        let text = try packageFile("Config/mailbridge.example.toml")
        let original = text.split(separator: "\n", omittingEmptySubsequences: false)
        let switchedOn = Self.uncommented(text).split(separator: "\n", omittingEmptySubsequences: false)
        var comment: [Substring] = []
        var undocumented: [String] = []
        var afterOption = false
        for (line, active) in zip(original, switchedOn) {
            let isOption = !active.hasPrefix("#") && active.contains(" = ")
            if isOption {
                let block = comment.joined(separator: " ")
                if !block.contains("Default") && !block.contains("Required") && !active.hasPrefix("\"") {
                    undocumented.append(String(active.prefix { $0 != " " }))
                }
                afterOption = true
            } else if line.hasPrefix("#") {
                if afterOption { comment = [] }  // prose after an option starts the next block
                afterOption = false
                comment.append(line)
            } else {
                comment = []  // blank line or table header ends a block
                afterOption = false
            }
        }
        #expect(undocumented.isEmpty, "options without a stated default: \(undocumented)")
    }

    @Test func embeddedExampleIsTheExampleFile() throws {
        #expect(BridgeConfiguration.exampleText == (try packageFile("Config/mailbridge.example.toml")),
                "run scripts/embed-resources")
    }

    @Test func embeddedDefaultValidates() throws {
        let folder = try AbsolutePath("/srv/mailbridge-test")
        let configuration = BridgeConfiguration.embeddedDefault(dataFolder: folder)
        let reloaded = try BridgeConfiguration.parse(configuration.tomlText, file: "embedded default")
        #expect(reloaded == configuration)
        #expect(configuration.data.folder == folder)
        #expect(configuration.keys.gnupgHome.string == "/srv/mailbridge-test/gnupg")
        #expect(configuration.keys.masterKeyFile.string == "/srv/mailbridge-test/master.key")
        #expect(NetworkName.isLoopback(configuration.smtp.listen))
        #expect(NetworkName.isLoopback(configuration.metrics.listen))
        #expect(configuration.smarthost == nil && configuration.imapSources.isEmpty)
        let mailbox = try #require(configuration.mailboxes.first)
        #expect(configuration.mailboxes.count == 1)
        #expect(mailbox.address.unredactedDescription == "beratung@localhost")
        #expect(mailbox.redirectLink.string == "https://beratung.example/login")
    }

    @Test func fullConfigurationRoundTripsThroughTOML() throws {
        // The uncommented example sets every option, including IMAP, smarthost and retention overrides, but for the
        // global [webhook], which is not allowed beside [[organisation]] (each has [organisation.webhook]).
        var lines = Self.uncommented(try packageFile("Config/mailbridge.example.toml")).split(
            separator: "\n", omittingEmptySubsequences: false)
        let webhook = try #require(lines.firstIndex(of: "[webhook]"))
        let next = lines[(webhook + 1)...].firstIndex { $0.hasPrefix("[") } ?? lines.endIndex
        lines.removeSubrange(webhook..<next)
        let text = lines.joined(separator: "\n")
        let configuration = try BridgeConfiguration.parse(text)
        #expect(configuration.imapSources.count == 1)
        #expect(configuration.smarthost?.username == "mailbridge@example.org")
        #expect(configuration.retention.days(forField: "allgemein") == 90)
        #expect(configuration.retention.days(forField: "Other") == 180)
        #expect(configuration.webhook == nil && configuration.organisations.first?.webhook != nil)
        #expect(try BridgeConfiguration.parse(configuration.tomlText) == configuration)
    }

    @Test func masterKeyPrefersTheSystemdCredential() throws {
        let keys = BridgeConfiguration.KeysSection(dataFolder: try AbsolutePath("/var/lib/mailbridge"))
        let withCredential = keys.masterKeyPath(
            environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/mailbridge.service"],
            fileExists: { $0 == "/run/credentials/mailbridge.service/mailbridge-master-key" })
        #expect(withCredential == "/run/credentials/mailbridge.service/mailbridge-master-key")
        let without = keys.masterKeyPath(environment: [:], fileExists: { _ in true })
        #expect(without == "/var/lib/mailbridge/master.key")
        let missingCredential = keys.masterKeyPath(
            environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/x"], fileExists: { _ in false })
        #expect(missingCredential == "/var/lib/mailbridge/master.key")
    }
}
