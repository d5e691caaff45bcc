import Foundation
import Testing
@testable import ThreadStore

@Suite struct MasterKeyTests {
    @Test func wrongMasterKeyFailsClearlyAtOpen() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        do {
            let store = try fixture.open()
            _ = try await store.write { tx in
                try tx.importMessage(Sample.message("k1", at: Date()), into: .client(Sample.identity()))
            }
        }
        #expect(throws: ThreadStoreError.wrongMasterKey) { try fixture.open(key: MasterKey.generate()) }
        // The right key still opens it.
        let store = try fixture.open()
        #expect(try await store.read { tx in try tx.listThreads(field: Sample.field) }.count == 1)
    }

    @Test func keyFileRoundTripsAndIsPrivate() throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let loaded = try MasterKey(contentsOf: fixture.keyURL)
        #expect(loaded.key == fixture.masterKey.key)
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.keyURL.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(throws: ThreadStoreError.masterKeyExists) { try MasterKey.generate().write(to: fixture.keyURL) }
        #expect("\(loaded)" == "MasterKey(<redacted>)")
    }

    @Test func groupReadableKeyFileIsRefused() throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: fixture.keyURL.path)
        #expect(throws: ThreadStoreError.masterKeyInsecurePermissions) { try MasterKey(contentsOf: fixture.keyURL) }
    }

    @Test func symlinkedKeyFileIsRefused() throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let link = fixture.directory.appending(path: "link.key")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: fixture.keyURL)
        #expect(throws: ThreadStoreError.masterKeyInsecurePermissions) { try MasterKey(contentsOf: link) }
    }

    @Test(arguments: [0, 16, 31, 33, 64])
    func keyFileOfWrongLengthIsRefused(length: Int) throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let url = fixture.directory.appending(path: "short.key")
        _ = FileManager.default.createFile(
            atPath: url.path,
            contents: Data(repeating: 7, count: length),
            attributes: [.posixPermissions: 0o600]
        )
        #expect(throws: ThreadStoreError.masterKeyInvalidLength) { try MasterKey(contentsOf: url) }
    }

    @Test func missingKeyFileIsUnreadable() throws {
        #expect(throws: ThreadStoreError.masterKeyUnreadable) {
            try MasterKey(contentsOf: URL(filePath: "/nonexistent/\(UUID().uuidString)"))
        }
    }

    @Test func credentialIsReadFromCredentialsDirectory() throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let environment = ["CREDENTIALS_DIRECTORY": fixture.directory.path]
        let loaded = try MasterKey(credentialNamed: "master.key", environment: environment)
        #expect(loaded.key == fixture.masterKey.key)
        #expect(throws: ThreadStoreError.credentialsDirectoryMissing) {
            try MasterKey(credentialNamed: "master.key", environment: [:])
        }
        #expect(throws: ThreadStoreError.invalidValue) {
            try MasterKey(credentialNamed: "../master.key", environment: environment)
        }
    }

    @Test func foreignSQLiteFileIsNotTouched() throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let url = fixture.directory.appending(path: "foreign.sqlite")
        // Make a foreign database with GRDB directly.
        try ForeignDatabase.create(at: url)
        #expect(throws: ThreadStoreError.notAThreadStore) { try fixture.open(url: url) }
    }
}
