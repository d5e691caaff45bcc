import Foundation
import TestSupport
import Testing

@testable import MailBridge

/// Issue 22 (administrators): `check-config` reports every problem in one run, the option problems and the
/// missing, unreadable or open files the options name, each with the configuration file and its key's line.
@Suite struct CheckConfigAllProblemsTests {
    /// The 1-based line of the first line of `text` that starts with `prefix` (after indentation).
    static func line(of prefix: String, in text: String) -> Int? {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .first { $0.element.drop { $0 == " " }.hasPrefix(prefix) }.map { $0.offset + 1 }
    }

    /// A configuration with eight problems of five kinds: an unknown option, a number out of range, a missing TLS
    /// certificate, a TLS key others may read, a missing passphrase file, a password file below a missing folder,
    /// a master key of the wrong length and a missing template.
    static func brokenConfiguration(in folder: TemporaryFolder) throws -> (file: String, text: String) {
        let key = try folder.write("tls.key", "-----BEGIN PRIVATE KEY-----\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
        let master = try folder.write("master.key", "too short")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: master)
        let text = """
            [data]
            folder = "\(folder.path)/data"

            [keys]
            master-key-file = "\(master)"
            passphrase-file = "\(folder.path)/no-passphrase"

            [smtp]
            port = 25
            prot = 2525
            tls-certificate = "\(folder.path)/no-cert.pem"
            tls-key = "\(key)"

            [[mailbox]]
            address = "beratung@example.org"
            field = "Suchtberatung"
            team-notification-address = "team@example.org"
            redirect-link = "https://beratung.example.org/login"
            redirect-template = "\(folder.path)/templates/missing-redirect.txt"

            [[imap]]
            host = "imap.example.org"
            username = "beratung"
            password-file = "\(folder.path)/missing-dir/imap-password"
            deliver-to = "beratung@example.org"

            [metrics]
            port = 70000

            """
        return (try folder.write("mailbridge.toml", text), text)
    }

    @Test func everyProblemComesOutInOneRunWithItsLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (config, text) = try Self.brokenConfiguration(in: folder)
        let result = ConfigurationCheck.run(file: config)
        #expect(result.status == .invalidConfiguration)
        let expected: [(option: String, code: ConfigurationError.Code, linePrefix: String)] = [
            ("keys.master-key-file", .invalidValue, "master-key-file"),
            ("keys.passphrase-file", .unreadableFile, "passphrase-file"),
            ("smtp.prot", .unknownOption, "prot"),
            ("smtp.tls-certificate", .unreadableFile, "tls-certificate"),
            ("smtp.tls-key", .insecureFile, "tls-key"),
            ("mailbox[1].redirect-template", .unreadableFile, "redirect-template"),
            ("imap[1].password-file", .unreadableFile, "password-file"),
            ("metrics.port", .outOfRange, "port = 70000"),
        ]
        #expect(result.errors.map { $0.option ?? "" } == expected.map(\.option), "\(result.output)")
        for (error, want) in zip(result.errors, expected) {
            #expect(error.code == want.code, "\(error)")
            #expect(error.file == config)
            #expect(error.line == Self.line(of: want.linePrefix, in: text), "\(error)")
        }
        #expect(result.output.hasSuffix("8 problem(s) in \(config); fix them and run `mailbridge check-config "
            + "--config \(config)` again"))
        #expect(!result.output.contains("too short") && !result.output.contains("BEGIN PRIVATE KEY"))
    }

    /// The same through the real binary: all problems on standard error with `file:line:`, exit status 3.
    @Test func theCommandReportsThemAllAndFails() throws {
        let binary = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let (config, text) = try Self.brokenConfiguration(in: folder)
        let run = try runProcess(binary, ["check-config", "--config", config])
        #expect(run.status == 3, "\(run.output)")
        for (option, prefix) in [
            ("keys.master-key-file", "master-key-file"), ("keys.passphrase-file", "passphrase-file"),
            ("smtp.prot", "prot"), ("smtp.tls-certificate", "tls-certificate"), ("smtp.tls-key", "tls-key"),
            ("mailbox[1].redirect-template", "redirect-template"), ("imap[1].password-file", "password-file"),
            ("metrics.port", "port = 70000"),
        ] {
            let line = try #require(Self.line(of: prefix, in: text))
            #expect(run.output.contains("\(config):\(line): \(option): "), "\(option) at line \(line):\n\(run.output)")
        }
        #expect(run.output.contains("there is none: create it, or correct the path"))
        #expect(run.output.contains("chmod 600"))

        // JSON gives the same problems with their lines.
        let json = try runProcess(binary, ["check-config", "--config", config, "--json"])
        #expect(json.status == 3)
        let document = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let errors = try #require(document?["errors"] as? [[String: Any]])
        #expect(errors.count == 8)
        #expect(errors.allSatisfy { ($0["line"] as? Int) != nil }, "\(errors)")
    }

    /// Files are checked also when the configuration does not load at all (no mailbox), and a missing master key
    /// is no problem (`init` creates it).
    @Test func filesAreCheckedWhenNothingElseLoads() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let config = try folder.write("mailbridge.toml", """
            [keys]
            master-key-file = "\(folder.path)/not-yet.key"
            passphrase-file = "\(folder.path)"

            """)
        let result = ConfigurationCheck.run(file: config)
        #expect(result.errors.map { $0.option ?? "" } == ["keys.passphrase-file", "mailbox"], "\(result.output)")
        #expect(result.errors.first?.line == 3)
        #expect(result.output.contains("it is a folder"))
    }
}
