import Foundation
import Testing
@testable import ThreadStore

@Suite struct BackupTests {
    @Test func onlineBackupStaysEncryptedAndOpensWithTheMasterKeyOnly() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let canary = "BACKUP-CANARY-\(UUID().uuidString)"
        let thread = try await store.write { tx in
            try tx.importMessage(
                Sample.message("b1", body: canary, at: fixture.clock.now),
                into: .client(Sample.identity())
            )
        }.storedThread!

        // Writes continue while the backup runs.
        let backupURL = fixture.directory.appending(path: "backup.sqlite")
        async let writes: Void = {
            for index in 0..<20 {
                _ = try await store.write { tx in
                    try tx.importMessage(
                        Sample.message("during-\(index)", at: Date()),
                        into: .client(Sample.identity(2))
                    )
                }
            }
        }()
        try await store.backup(to: backupURL)
        try await writes

        #expect(!fixture.filesContain(Data(canary.utf8), url: backupURL))
        let attributes = try FileManager.default.attributesOfItem(atPath: backupURL.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(throws: ThreadStoreError.wrongMasterKey) { try fixture.open(key: MasterKey.generate(), url: backupURL) }
        let restored = try fixture.open(url: backupURL)
        #expect(try await restored.integrityCheck())
        let opened = try await restored.read { tx in try tx.openThread(thread) }
        #expect(opened.messages.first?.body == Array(canary.utf8))
        await #expect(throws: ThreadStoreError.backupFailed) { try await store.backup(to: backupURL) }
        #expect(try await store.read { tx in try tx.auditEntries() }.contains { $0.event == .backupWritten })
    }
}
