import Foundation
import Testing

@testable import MailBridge

/// `check-config` beyond parsing: the files the configuration names.
@Suite struct ConfigurationCheckTests {
    @Test func missingAndOpenSecretFilesAreReported() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let password = try folder.write("imap-password", "not-the-real-one\n")
        let key = try folder.write("master.key", String(repeating: "k", count: 32))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: password)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: key)
        let text = "[keys]\nmaster-key-file = \"\(key)\"\n" + ConfigurationErrorTests.mailbox + """
            [[imap]]
            host = "imap.example.org"
            username = "beratung"
            password-file = "\(password)"
            deliver-to = "beratung@example.org"

            [smarthost]
            host = "smtp.example.org"
            username = "gateway"
            password-file = "\(folder.path)/missing-password"

            """
        let config = try folder.write("mailbridge.toml", text)
        let result = ConfigurationCheck.run(file: config)
        #expect(result.status == .invalidConfiguration)
        let found = Dictionary(uniqueKeysWithValues: result.errors.map { ($0.option ?? "", $0.code) })
        #expect(found == [
            "keys.master-key-file": .insecureFile, "imap[1].password-file": .insecureFile,
            "smarthost.password-file": .unreadableFile,
        ])
        #expect(!result.output.contains("not-the-real-one"))

        // Fixed permissions and the missing file created: the check passes. A missing master key is fine.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: password)
        try FileManager.default.removeItem(atPath: key)
        let smarthostPassword = try folder.write("missing-password", "x\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: smarthostPassword)
        let fixed = ConfigurationCheck.run(file: config)
        #expect(fixed.status == .success, "\(fixed.output)")
    }
}
