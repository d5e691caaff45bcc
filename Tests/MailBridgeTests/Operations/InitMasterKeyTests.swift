import Foundation
import TestSupport
import Testing

@testable import MailBridge

/// Issue 22 (administrators): `mailbridge init --config FILE` writes exactly one master key, where the systemd unit
/// reads it, and says where; opening the installation afterwards (init generates the gateway keys) writes no second
/// key into the data folder.
@Suite struct InitMasterKeyTests {
    /// Every regular file below `root`, relative, with its size and mode.
    static func files(below root: String) -> [(path: String, size: Int, mode: Int)] {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: root) else { return [] }
        var found: [(String, Int, Int)] = []
        for case let relative as String in enumerator {
            let attributes = (try? manager.attributesOfItem(atPath: root + "/" + relative)) ?? [:]
            guard attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            found.append((relative, (attributes[.size] as? Int) ?? -1, (attributes[.posixPermissions] as? Int) ?? -1))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    @Test func initWritesOneMasterKeyWhereTheUnitReadsItAndSaysWhere() throws {
        let binary = try #require(CommandLineTests.executable, "the mailbridge executable was not built")
        let folder = try TemporaryFolder()
        let data = folder.path + "/var/lib/mailbridge"
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", data + "/gnupg", "--kill", "all"], allowFailure: true)
            folder.remove()
        }
        let config = folder.path + "/etc/mailbridge/mailbridge.toml"
        let key = folder.path + "/etc/mailbridge/master.key"
        let first = try runProcess(binary, ["init", "--data-dir", data, "--config", config])
        #expect(first.status == 0, "\(first.output)")

        let listing = Self.files(below: folder.path)
        print("files after init:\n" + listing.map { "  \($0.path) \($0.size) \(String($0.mode, radix: 8))" }
            .joined(separator: "\n"))
        // Exactly one master key: one file named like it, and one 32-octet owner-only file outside the keyring.
        #expect(listing.filter { $0.path.hasSuffix("master.key") }.map(\.path) == ["etc/mailbridge/master.key"])
        let keyLike = listing.filter { $0.size == 32 && $0.mode == 0o600 && !$0.path.contains("/gnupg/") }
        #expect(keyLike.map(\.path) == ["etc/mailbridge/master.key"], "\(keyLike)")
        #expect(!FileManager.default.fileExists(atPath: data + "/master.key"), "no second key in the data folder")

        // init says where the key is, and that the unit would not find it at this test path.
        #expect(first.output.contains("master key: \(key)"), "\(first.output)")
        #expect(first.output.contains("LoadCredential=mailbridge-master-key:/etc/mailbridge/master.key"))

        // A command that opens the installation (here `queue list`) adds no key either.
        let listed = try runProcess(binary, ["queue", "list", "--config", config])
        #expect(listed.status == 0, "\(listed.output)")
        #expect(!FileManager.default.fileExists(atPath: data + "/master.key"))
        #expect(Self.files(below: folder.path).filter { $0.path.hasSuffix("master.key") }.count == 1)
    }

    /// The default paths are the unit's: init then names the credential that carries the key.
    @Test func theUnitsPathGetsTheCredentialNote() throws {
        let keys = BridgeConfiguration.KeysSection(
            dataFolder: AbsolutePath(unchecked: "/var/lib/mailbridge"),
            masterKeyFile: AbsolutePath(unchecked: DataFolderInitializer.SystemdUnit.masterKeySource))
        let notes = DataFolderInitializer.masterKeyNotes(keys, forUnit: true)
        #expect(notes.first == "master key: /etc/mailbridge/master.key (the only copy: keep a backup apart from the "
            + "data)")
        #expect(notes.last?.hasPrefix("the systemd unit hands it to the service as the credential "
            + "mailbridge-master-key") == true)
        #expect(DataFolderInitializer.masterKeyNotes(keys, forUnit: false).count == 1)
    }

    /// The values init states are the unit's own `LoadCredential=` line.
    @Test func systemdUnitValuesMatchTheUnitFile() throws {
        let text = try packageFile("systemd/mailbridge.service")
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("LoadCredential=") }
        #expect(lines == ["LoadCredential=\(DataFolderInitializer.SystemdUnit.masterKeyCredential):"
            + "\(DataFolderInitializer.SystemdUnit.masterKeySource)"])
        #expect(DataFolderInitializer.SystemdUnit.masterKeyCredential == "mailbridge-master-key")
    }

    /// Opening an installation creates a key only for a new one, only at `master-key-file`, and never while a
    /// systemd credential supplies it or a store already exists.
    @Test func prepareCreatesNoKeyBesideACredentialOrAnExistingStore() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = try AbsolutePath(folder.path + "/data")
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: data)
        configuration.keys.masterKeyFile = try AbsolutePath(folder.path + "/etc/master.key")

        // A credential directory holding the named credential: no key file is made anywhere.
        let credentials = folder.path + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        try Data(count: 32).write(to: URL(fileURLWithPath: credentials + "/mailbridge-master-key"))
        let withCredential = try DataFolderInitializer.prepare(
            configuration, environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(Set(withCredential.created) == [data.string, data.string + "/gnupg"])
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/etc/master.key"))
        #expect(!FileManager.default.fileExists(atPath: data.string + "/master.key"))

        // An existing store whose key is missing: no new key (it would not open the store).
        FileManager.default.createFile(atPath: data.string + "/threads.sqlite", contents: Data())
        #expect(try DataFolderInitializer.prepare(configuration, environment: [:]).created.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/etc/master.key"))

        // A new installation: the key goes where the configuration reads it, and only there.
        try FileManager.default.removeItem(atPath: data.string + "/threads.sqlite")
        let fresh = try DataFolderInitializer.prepare(configuration, environment: [:])
        #expect(fresh.created == [folder.path + "/etc", folder.path + "/etc/master.key"])
        #expect(!FileManager.default.fileExists(atPath: data.string + "/master.key"))
    }
}
