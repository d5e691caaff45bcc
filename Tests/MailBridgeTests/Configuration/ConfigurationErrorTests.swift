import Foundation
import Testing

@testable import MailBridge

/// One test per class of mistake an administrator can make in the configuration file. Each checks the error
/// code, the option path the message names, and that the message does not repeat the value found.
@Suite struct ConfigurationErrorTests {
    static let mailbox = """
        [[mailbox]]
        address = "beratung@example.org"
        field = "Suchtberatung"
        team-notification-address = "team@example.org"
        redirect-link = "https://beratung.example.org/login"

        """

    /// All problems reported for `text`, or an empty list if it loads.
    func problems(_ text: String) -> [ConfigurationError] {
        do {
            _ = try BridgeConfiguration.parse(text, file: "/etc/mailbridge/test.toml")
            return []
        } catch {
            return error.allErrors
        }
    }

    func single(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigurationError {
        let found = problems(text)
        #expect(found.count == 1, "expected exactly one problem, got: \(found)", sourceLocation: sourceLocation)
        return try #require(found.first, sourceLocation: sourceLocation)
    }

    @Test func minimalConfigurationLoadsWithDefaults() throws {
        let configuration = try BridgeConfiguration.parse(Self.mailbox)
        #expect(configuration.data.folder.string == "/var/lib/mailbridge")
        #expect(configuration.keys.gnupgHome.string == "/var/lib/mailbridge/gnupg")
        #expect(configuration.keys.masterKeyFile.string == "/var/lib/mailbridge/master.key")
        #expect(configuration.smtp.listen == "127.0.0.1")
        #expect(configuration.smtp.port == 2525)
        #expect(configuration.smtp.maxTextLineLength == 1000)
        #expect(configuration.smtp.maxMessageSize == 25 * 1024 * 1024)
        #expect(configuration.smtp.maxRecipients == 20)
        #expect(configuration.metrics.port == 9465)
        #expect(configuration.mailboxes.first?.language == .de)
        #expect(configuration.smarthost == nil)
    }

    /// Issue 18: the stress-mode and junk-command limits are read, defaulted and range-checked; the signature
    /// window of issue 16 too.
    @Test func stressModeAndSignatureWindowOptions() throws {
        let defaults = try BridgeConfiguration.parse(Self.mailbox)
        #expect(defaults.smtp.maxJunkCommands == 20 && defaults.smtp.stressThresholdPercent == 75
                && defaults.smtp.stressCommandTimeoutSeconds == 10 && defaults.signatures.maxAgeDays == 30)
        let set = try BridgeConfiguration.parse(Self.mailbox + """
            [smtp]
            max-junk-commands = 5
            stress-threshold-percent = 50
            stress-command-timeout-seconds = 3
            [signatures]
            max-age-days = 7

            """)
        #expect(set.smtp.maxJunkCommands == 5 && set.smtp.stressThresholdPercent == 50
                && set.smtp.stressCommandTimeoutSeconds == 3 && set.signatures.maxAgeDays == 7)
        #expect(try single(Self.mailbox + "[smtp]\nstress-threshold-percent = 0\n").option
                == "smtp.stress-threshold-percent")
        #expect(try single(Self.mailbox + "[signatures]\nmax-age-days = 0\n").option == "signatures.max-age-days")
    }

    /// Issue 17: the key-request period is read, defaulted (seven days) and range-checked.
    @Test func keyRequestPeriodOption() throws {
        #expect(try BridgeConfiguration.parse(Self.mailbox).autoreply.keyRequestPeriodSeconds == 604_800)
        let set = try BridgeConfiguration.parse(Self.mailbox + "[autoreply]\nkey-request-period-seconds = 86400\n")
        #expect(set.autoreply.keyRequestPeriodSeconds == 86_400)
        #expect(try single(Self.mailbox + "[autoreply]\nkey-request-period-seconds = 99999999\n").option
                == "autoreply.key-request-period-seconds")
    }

    @Test func unknownKeySuggestsTheClosestKnownOne() throws {
        let error = try single(Self.mailbox + "[smtp]\nprot = 25\n")
        #expect(error.code == .unknownOption)
        #expect(error.option == "smtp.prot")
        #expect(error.description.contains("did you mean 'port'?"))
        // Five mailbox lines, then [smtp] on line 6 and the typo on line 7.
        #expect(error.line == 7)
        #expect(error.description.hasPrefix("/etc/mailbridge/test.toml:7: smtp.prot: unknown option"))
    }

    @Test func unknownSectionIsAnError() throws {
        let error = try single(Self.mailbox + "[smpt]\nport = 25\n")
        #expect(error.code == .unknownOption)
        #expect(error.option == "smpt")
        #expect(error.description.contains("did you mean 'smtp'?"))
    }

    @Test func unknownKeyInAMailboxNamesItsIndex() throws {
        // mailbox[2] misspells `field` as `feld`: the unknown key and the missing one are both reported.
        let second = Self.mailbox.replacingOccurrences(of: "beratung@", with: "sucht@")
            .replacingOccurrences(of: "field =", with: "feld =")
        let found = problems(Self.mailbox + second)
        #expect(Set(found.compactMap(\.option)) == ["mailbox[2].field", "mailbox[2].feld"])
        let unknown = try #require(found.first { $0.code == .unknownOption })
        #expect(unknown.description.contains("did you mean 'field'?"))
    }

    @Test func passwordInTheFileIsRejectedWithoutEchoingIt() throws {
        let text = Self.mailbox + "[smarthost]\nhost = \"smtp.example.org\"\npassword = \"hunter2-very-secret\"\n"
        let error = try single(text)
        #expect(error.code == .unknownOption)
        #expect(error.option == "smarthost.password")
        #expect(error.description.contains("password-file"))
        #expect(!error.fullDescription.contains("hunter2"))
    }

    @Test func wrongType() throws {
        let error = try single(Self.mailbox + "[smtp]\nport = \"25\"\n")
        #expect(error.code == .wrongType)
        #expect(error.option == "smtp.port")
        #expect(error.description.contains("expected") == false)  // phrased as "an integer …, found a string"
        #expect(error.description.contains("found a string"))
    }

    @Test func sectionOfWrongType() throws {
        let error = try single(Self.mailbox + "smtp = 25\n")
        // `smtp = 25` after [[mailbox]] belongs to the mailbox table: an unknown key there.
        #expect(error.code == .unknownOption)
        let topLevel = try single("smtp = 25\n" + Self.mailbox)
        #expect(topLevel.code == .wrongType)
        #expect(topLevel.option == "smtp")
    }

    @Test func invalidAddressDoesNotRepeatIt() throws {
        let text = Self.mailbox.replacingOccurrences(of: "beratung@example.org", with: "max mustermann@example.org")
        let error = try single(text)
        #expect(error.code == .invalidValue)
        #expect(error.option == "mailbox[1].address")
        #expect(!error.description.contains("mustermann"))
        #expect(error.description.contains("a mail address"))
    }

    @Test(arguments: [
        ("[smtp]\nmax-text-line-length = 999\n", "smtp.max-text-line-length"),
        ("[smtp]\nport = 70000\n", "smtp.port"),
        ("[smtp]\nmax-message-size = 0\n", "smtp.max-message-size"),
        ("[limits.mime]\nmax-depth = 1000\n", "limits.mime.max-depth"),
        ("[retention]\ndefault-days = 0\n", "retention.default-days"),
        ("[retention]\nrejected-days = 366\n", "retention.rejected-days"),
        ("[autoreply]\nrate-limit-period-seconds = 1\n", "autoreply.rate-limit-period-seconds"),
        ("[autoreply]\nkey-request-period-seconds = 60\n", "autoreply.key-request-period-seconds"),
        ("[smarthost]\nhost = \"smtp.example.org\"\nmax-age-hours = 0\n", "smarthost.max-age-hours"),
        ("[smarthost]\nhost = \"smtp.example.org\"\ndelivery-timeout-seconds = 5\n", "smarthost.delivery-timeout-seconds"),
    ])
    func outOfRangeLimit(snippet: String, option: String) throws {
        let error = try single(Self.mailbox + snippet)
        #expect(error.code == .outOfRange)
        #expect(error.option == option)
        #expect(error.description.contains("an integer from"))
    }

    @Test func missingRequiredOption() throws {
        let text = Self.mailbox.replacingOccurrences(of: "field = \"Suchtberatung\"\n", with: "")
        let error = try single(text)
        #expect(error.code == .missingOption)
        #expect(error.option == "mailbox[1].field")
    }

    @Test func missingMailbox() throws {
        let error = try single("[smtp]\nport = 2525\n")
        #expect(error.code == .missingOption)
        #expect(error.option == "mailbox")
    }

    @Test func duplicateMailboxAddressIgnoresCase() throws {
        let second = Self.mailbox.replacingOccurrences(of: "beratung@example.org", with: "Beratung@EXAMPLE.org")
        let error = try single(Self.mailbox + second)
        #expect(error.code == .duplicate)
        #expect(error.option == "mailbox[2].address")
        #expect(error.description.contains("mailbox[1]"))
    }

    @Test func badIMAPTLSMode() throws {
        let text = Self.mailbox + """
            [[imap]]
            host = "imap.example.org"
            tls = "ssl"
            username = "beratung"
            password-file = "/etc/mailbridge/imap-password"
            deliver-to = "beratung@example.org"

            """
        let error = try single(text)
        #expect(error.code == .invalidValue)
        #expect(error.option == "imap[1].tls")
        #expect(error.description.contains("\"implicit\" or \"starttls\""))
    }

    @Test func plainTextSmarthostOnlyOnLoopback() throws {
        let remote = try single(Self.mailbox + "[smarthost]\nhost = \"smtp.example.org\"\ntls = \"none\"\n")
        #expect(remote.code == .invalidValue)
        #expect(remote.option == "smarthost.tls")
        let local = try BridgeConfiguration.parse(
            Self.mailbox + "[smarthost]\nhost = \"127.0.0.1\"\ntls = \"none\"\nport = 25\n")
        #expect(local.smarthost?.tls == BridgeConfiguration.Smarthost.TLSMode.none)
    }

    @Test func relativePathIsRefused() throws {
        let error = try single("[data]\nfolder = \"var/lib/mailbridge\"\n" + Self.mailbox)
        #expect(error.code == .relativePath)
        #expect(error.option == "data.folder")
        #expect(error.description.contains("absolute path"))
    }

    @Test func syntaxErrorHasLineAndColumn() throws {
        let error = try single(Self.mailbox + "[smtp\nport = 1\n")
        #expect(error.code == .syntax)
        // The mailbox block is five lines; the broken table header is line 6.
        #expect(error.line == 6)
        #expect(error.column != nil)
        #expect(error.description.hasPrefix("/etc/mailbridge/test.toml:6:"))
    }

    @Test func conflictingTLSFiles() throws {
        let error = try single(Self.mailbox + "[smtp]\ntls-certificate = \"/etc/ssl/cert.pem\"\n")
        #expect(error.code == .conflictingOptions)
        #expect(error.option == "smtp.tls-key")
    }

    @Test func metricsOnlyOnLoopback() throws {
        let error = try single(Self.mailbox + "[metrics]\nlisten = \"0.0.0.0\"\n")
        #expect(error.code == .invalidValue)
        #expect(error.option == "metrics.listen")
    }

    @Test func crossReferencesAreChecked() throws {
        let text = Self.mailbox + """
            [[imap]]
            host = "imap.example.org"
            username = "beratung"
            password-file = "/etc/mailbridge/imap-password"
            deliver-to = "other@example.org"

            [retention.fields]
            "Schuldnerberatung" = 30

            """
        let found = problems(text)
        #expect(found.map(\.option) == ["imap[1].deliver-to", "retention.fields.Schuldnerberatung"])
        #expect(found.allSatisfy { $0.code == .invalidValue })
    }

    @Test func redirectLinkMustBeHTTPS() throws {
        let error = try single(Self.mailbox.replacingOccurrences(of: "https://", with: "http://"))
        #expect(error.code == .invalidValue)
        #expect(error.option == "mailbox[1].redirect-link")
    }

    @Test func allProblemsAreCollected() throws {
        let text = "[smtp]\nport = \"x\"\nmax-errors = 0\nfoo = 1\n[data]\nfolder = \"rel\"\n"
        let found = problems(text)
        #expect(found.count == 5)
        #expect(Set(found.map(\.code)) == [.wrongType, .outOfRange, .unknownOption, .relativePath, .missingOption])
    }

    @Test func unreadableFile() throws {
        #expect(throws: ConfigurationError.unreadableFileError) {
            try BridgeConfiguration.load(file: "/nonexistent/\(UUID().uuidString).toml")
        }
    }

    @Test func errorsCarryTheLineOfTheirOption() throws {
        let second = Self.mailbox.replacingOccurrences(of: "beratung@example.org", with: "no-at-sign")
            .replacingOccurrences(of: "field = \"Suchtberatung\"\n", with: "")
        let text = "# comment\n[smtp]\nport = 0\n\n" + Self.mailbox + second + """
            [retention.fields]
            "Unbekannt" = 30

            """
        let found = problems(text)
        let lines = Dictionary(uniqueKeysWithValues: found.map { ($0.option ?? "", $0.line) })
        #expect(lines["smtp.port"] == 3)
        #expect(lines["mailbox[2].address"] == 11)  // mailbox[1] is lines 5-9, [[mailbox]] again on 10
        #expect(lines["mailbox[2].field"] == 10)  // missing: the table's header
        #expect(lines["retention.fields.Unbekannt"] == 15)
    }

    @Test func didYouMeanUsesEditDistance() {
        #expect(ConfigurationReader.editDistance("prot", "port") == 2)
        let closest = ConfigurationReader.closest(to: "max-recipient", among: ["max-recipients", "max-errors"])
        #expect(closest == "max-recipients")
        #expect(ConfigurationReader.closest(to: "colour", among: ["port", "listen"]) == nil)
    }
}

extension ConfigurationError {
    /// For `#expect(throws:)`: errors compare by code only.
    static let unreadableFileError = ConfigurationError(.unreadableFile, expected: "")
}
