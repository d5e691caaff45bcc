import Crypto
import Foundation
import Testing

@testable import MailBridge
import ThreadStore

@Suite struct DataFolderInitializerTests {
    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func createsFolderKeyAndConfigurationWithTheRightModesAndIsIdempotent() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = try AbsolutePath(folder.path + "/var/lib/mailbridge")
        let config = try AbsolutePath(folder.path + "/etc/mailbridge/mailbridge.toml")

        let first = try DataFolderInitializer.run(dataFolder: data, configFile: config)
        let key = folder.path + "/etc/mailbridge/master.key"
        #expect(Set(first.created) == [data.string, data.string + "/gnupg", folder.path + "/etc/mailbridge", key,
                                      config.string])
        #expect(try mode(data.string) == 0o700)
        #expect(try mode(data.string + "/gnupg") == 0o700)
        #expect(try mode(key) == 0o600)
        #expect(try mode(config.string) == 0o644)
        #expect(try mode(folder.path + "/etc/mailbridge") == 0o755)
        let keyBytes = try Data(contentsOf: URL(fileURLWithPath: key))
        #expect(keyBytes.count == 32)
        #expect(Set(keyBytes).count > 8, "32 random octets are not all alike")

        // The written configuration is the example, pointed at this data folder and master key, and valid.
        let configuration = try BridgeConfiguration.load(file: config.string)
        #expect(configuration.data.folder == data)
        #expect(configuration.keys.masterKeyFile.string == key)
        #expect(ConfigurationCheck.run(file: config.string).status == .success)

        // Again: nothing is created, the key is not replaced, an edited configuration is kept.
        try "\n# edited\n".appendLine(to: config.string)
        let second = try DataFolderInitializer.run(dataFolder: data, configFile: config)
        #expect(second.created.isEmpty)
        #expect(Set(second.kept) == [data.string, data.string + "/gnupg", key, config.string])
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == keyBytes)
        #expect(try String(contentsOfFile: config.string, encoding: .utf8).hasSuffix("# edited\n"))
    }

    @Test func withoutConfigurationTheKeyGoesIntoTheDataFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = try AbsolutePath(folder.path + "/data")
        let report = try DataFolderInitializer.run(dataFolder: data, configFile: nil)
        #expect(report.created == [data.string, data.string + "/gnupg", data.string + "/master.key"])
        #expect(try mode(data.string + "/master.key") == 0o600)
        // Two folders get two different keys.
        let other = try AbsolutePath(folder.path + "/other")
        _ = try DataFolderInitializer.run(dataFolder: other, configFile: nil)
        #expect(try Data(contentsOf: URL(fileURLWithPath: data.string + "/master.key"))
                != Data(contentsOf: URL(fileURLWithPath: other.string + "/master.key")))
    }

    @Test func tightensAnOpenDataFolderAndRefusesAStrangeKeyFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = try AbsolutePath(folder.path + "/data")
        try FileManager.default.createDirectory(atPath: data.string, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try "short".write(toFile: data.string + "/master.key", atomically: true, encoding: .utf8)
        #expect(throws: DataFolderInitializer.Failure.self) {
            try DataFolderInitializer.run(dataFolder: data, configFile: nil)
        }
        #expect(try mode(data.string) == 0o700)
        #expect(try String(contentsOfFile: data.string + "/master.key", encoding: .utf8) == "short")
    }

    @Test func existingConfigurationMustBeValidAndAgreeOnTheDataFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let invalid = try AbsolutePath(try folder.write("invalid.toml", "[smtp]\nport = \"x\"\n"))
        let data = try AbsolutePath(folder.path + "/d")
        do {
            _ = try DataFolderInitializer.run(dataFolder: data, configFile: invalid)
            Issue.record("an invalid configuration was accepted")
        } catch {
            #expect(error.status == .invalidConfiguration)
        }
        let elsewhere = try AbsolutePath(
            try folder.write("other.toml", "[data]\nfolder = \"/srv/elsewhere\"\n" + ConfigurationErrorTests.mailbox))
        do {
            _ = try DataFolderInitializer.run(dataFolder: data, configFile: elsewhere)
            Issue.record("a configuration for another data folder was accepted")
        } catch {
            #expect(error.status == .usage)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/d"), "nothing is created on failure")
    }
}

extension String {
    func appendLine(to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}

@Suite struct MasterKeyLoaderTests {
    @Test func loadsTheKeyInitCreatedAndPrefersTheCredential() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = try AbsolutePath(folder.path + "/data")
        _ = try DataFolderInitializer.run(dataFolder: data, configFile: nil)
        let keys = BridgeConfiguration.embeddedDefault(dataFolder: data).keys
        // A store sealed with the loaded key opens with the key read straight from the file: the same key.
        let key = try keys.loadMasterKey(environment: [:])
        let storeURL = URL(fileURLWithPath: folder.path + "/check.sqlite")
        try ThreadStore(at: storeURL, masterKey: key).close()
        let direct = try MasterKey(contentsOf: URL(fileURLWithPath: data.string + "/master.key"))
        try ThreadStore(at: storeURL, masterKey: direct).close()

        // A credential directory with the named credential wins over the file.
        let credentials = folder.path + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        let credentialBytes = Data((0..<32).map { UInt8($0) })
        try credentialBytes.write(to: URL(fileURLWithPath: credentials + "/mailbridge-master-key"))
        let fromCredential = try keys.loadMasterKey(environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(throws: ThreadStoreError.self) { try ThreadStore(at: storeURL, masterKey: fromCredential) }
        let credentialStore = URL(fileURLWithPath: folder.path + "/credential.sqlite")
        try ThreadStore(at: credentialStore, masterKey: fromCredential).close()
        try ThreadStore(at: credentialStore, masterKey: try MasterKey(
            contentsOf: URL(fileURLWithPath: credentials + "/mailbridge-master-key"), requireOwnerOnly: false)).close()
    }

    @Test func refusesWrongLengthOpenPermissionsAndMissingFiles() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let data = try AbsolutePath(folder.path)
        let keys = BridgeConfiguration.embeddedDefault(dataFolder: data).keys
        #expect(throws: MasterKeyError(.unreadable, path: "")) { try keys.loadMasterKey(environment: [:]) }
        let path = folder.path + "/master.key"
        try Data(count: 31).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(throws: MasterKeyError(.wrongLength, path: "")) { try keys.loadMasterKey(environment: [:]) }
        try Data(count: 32).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(throws: MasterKeyError(.insecurePermissions, path: "")) { try keys.loadMasterKey(environment: [:]) }
    }
}
