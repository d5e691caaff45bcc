import Foundation
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// `mailbridge backup` while encrypted mail arrives at the running gateway (SMTP on loopback, real gpg), then
/// `mailbridge restore` into a new folder: every thread readable, new encrypted mail imports into the restored
/// gateway, the audit log intact. The archive holds no canary and no secret key material in clear; the wrong
/// master key fails clearly and leaves nothing behind; an existing --out file is never overwritten.
@Suite struct BackupRestoreTests {
    static func configuration(_ folder: URL, sinkPort: Int) throws -> BridgeConfiguration {
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sinkPort, tls: .none)
        configuration.metrics.port = 0
        configuration.web.port = 0
        return configuration
    }

    /// Waits until the store holds `count` messages in the field; returns the thread IDs.
    static func waitForMessages(_ store: ThreadStore, count: Int) async throws -> [ThreadID] {
        let field = try CounsellingField("allgemein")
        let deadline = ContinuousClock.now + .seconds(90)
        while true {
            let threads = try await store.read { try $0.listThreads(field: field, limit: 500) }
            var total = 0
            for thread in threads { total += try await store.read { try $0.openThread(thread.id) }.messages.count }
            if total >= count || ContinuousClock.now > deadline { return threads.map(\.id) }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test(.timeLimit(.minutes(10))) func backupWhileMailArrivesThenRestoreIntoANewFolder() async throws {
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let root = URL(fileURLWithPath: "/tmp/mb-dr-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let original = root.appendingPathComponent("data")
        let restored = root.appendingPathComponent("restored")
        let archive = root.appendingPathComponent("backup.mbk")
        let configuration = try Self.configuration(original, sinkPort: sink.port)
        let gateway = try await Gateway.start(configuration, logger: LogCapture().logger())
        let running = Task { try await gateway.run() }
        let port = try #require(gateway.listener.localAddress?.port)
        let gatewayKey = try #require(gateway.gatewayKeys["beratung@localhost"])
        let client = try GnuPGClient(home: root.appendingPathComponent("client-gnupg"))
        defer {
            client.kill()
            for home in [configuration.keys.gnupgHome.string, restored.appendingPathComponent("gnupg").path] {
                _ = try? Shell.run("gpgconf", ["--homedir", home, "--kill", "all"], allowFailure: true)
            }
        }
        try client.gpg(["--import"], stdin: try await gateway.pgp.exportPublicKey(gatewayKey))
        let senders = ["klient1@example.net", "klient2@example.net", "klient3@example.net"]
        var clientKeys: [String: KeyFingerprint] = [:]
        for sender in senders { clientKeys[sender] = try client.makeKey(sender) }
        var canaries: [String] = []
        func mails(_ round: String) throws -> [(from: String, text: String)] {
            try senders.map { sender in
                let canary = "DRCANARY\(round)\(UUID().uuidString.prefix(8))"
                canaries.append(canary)
                return (sender, try RecoveryCLI.encryptedMail(
                    client: client, from: sender, to: "beratung@localhost", clientKey: clientKeys[sender]!,
                    gatewayKey: gatewayKey, body: "Vertraulich \(canary)"))
            }
        }

        // Mail before the backup, then mail sent one by one (each accepted with 250 before the next) for as long
        // as `mailbridge backup` runs in its own process.
        // Off the cooperative pool: the gateway under test runs in this process and needs its threads to answer.
        let first = try mails("a")
        try await offCooperativePool { try RecoveryCLI.send(first, to: "beratung@localhost", port: port, folder: root) }
        _ = try await Self.waitForMessages(gateway.store, count: 3)
        let during = try (0..<10).flatMap { try mails("b\($0)") }
        let stopFile = root.appendingPathComponent("stop-sending")
        let sending = Task {
            try await offCooperativePool {
                try RecoveryCLI.sendUntilStopped(during, to: "beratung@localhost", port: port, folder: root,
                                                 stopFile: stopFile)
            }
        }
        // Mail is flowing when the backup starts: a few of these were accepted already.
        let progress = stopFile.path + ".progress"
        let flowing = ContinuousClock.now + .seconds(60)
        while (FileManager.default.contents(atPath: progress).map { $0.filter { $0 == 10 }.count } ?? 0) < 3,
            ContinuousClock.now < flowing { try await Task.sleep(for: .milliseconds(50)) }
        let backupStart = Date().timeIntervalSince1970
        let backup = try await offCooperativePool {
            try RecoveryCLI.run(["backup", "--embedded", "--data-dir", original.path, "--out", archive.path])
        }
        try Data().write(to: stopFile)
        let acceptedAt = try await sending.value
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("gateway keys: 1"))
        let sent = 3 + acceptedAt.count
        let threadsAtSource = try await Self.waitForMessages(gateway.store, count: sent)
        #expect(threadsAtSource.count == 3)
        let accepted = Array(canaries.dropFirst(3).prefix(acceptedAt.count))
        let beforeBackup = zip(accepted, acceptedAt).filter { $0.1 < backupStart }.map(\.0)
        let duringBackup = zip(accepted, acceptedAt).filter { $0.1 >= backupStart }.map(\.0)
        #expect(!duringBackup.isEmpty, "some mail was accepted while the backup ran")

        // An existing --out file: a clear error, the file unchanged.
        let archiveBytes = try Data(contentsOf: archive)
        let again = try RecoveryCLI.run(["backup", "--embedded", "--data-dir", original.path, "--out", archive.path])
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists: a backup never overwrites a file"))
        #expect(try Data(contentsOf: archive) == archiveBytes)

        running.cancel()
        _ = await running.result

        // Canary check: no client text, no SQLite file, no secret key material in clear in the archive.
        for canary in canaries { #expect(archiveBytes.range(of: Data(canary.utf8)) == nil) }
        #expect(archiveBytes.range(of: Data("SQLite format 3".utf8)) == nil)
        let secretKeys = configuration.keys.gnupgHome.string + "/private-keys-v1.d"
        let keyFiles = try FileManager.default.contentsOfDirectory(atPath: secretKeys)
        #expect(!keyFiles.isEmpty)
        for name in keyFiles {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: secretKeys + "/" + name))
            for offset in stride(from: 0, to: bytes.count - 32, by: 32) {
                #expect(archiveBytes.range(of: bytes[offset..<(offset + 32)]) == nil, "secret key bytes in clear")
            }
        }
        let secret = try Shell.run("gpg", ["--homedir", configuration.keys.gnupgHome.string, "--batch",
                                           "--pinentry-mode", "loopback", "--passphrase", "",
                                           "--export-secret-keys", gatewayKey.hex]).stdout
        #expect(secret.count > 64)
        #expect(archiveBytes.range(of: Data(secret.suffix(64))) == nil)

        // The wrong master key: a clear failure, nothing left behind.
        let wrongKey = root.appendingPathComponent("wrong.key")
        try MasterKey.generate().write(to: wrongKey)
        let wrong = try RecoveryCLI.run(["restore", "--from", archive.path, "--data-dir", restored.path,
                                         "--master-key", wrongKey.path])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("does not open with this master key"))
        #expect(!FileManager.default.fileExists(atPath: restored.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).allSatisfy { !$0.contains(".restore-") })

        // A cut-off copy (an interrupted transfer): refused, nothing left behind.
        let cut = root.appendingPathComponent("cut.mbk")
        try archiveBytes.prefix(archiveBytes.count - 1000).write(to: cut)
        let truncated = try RecoveryCLI.run(["restore", "--from", cut.path, "--data-dir", restored.path,
                                             "--master-key", configuration.keys.masterKeyFile.string])
        #expect(truncated.status == 1)
        #expect(truncated.stderr.contains("cut off"), "\(truncated.stderr)")
        #expect(!FileManager.default.fileExists(atPath: restored.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).allSatisfy { !$0.contains(".restore-") })

        // The right key: restored and verified.
        let restore = try RecoveryCLI.run(["restore", "--from", archive.path, "--data-dir", restored.path,
                                           "--master-key", configuration.keys.masterKeyFile.string])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout.contains("verified") && restore.stdout.contains("each decrypted a test message"))
        let notEmpty = try RecoveryCLI.run(["restore", "--from", archive.path, "--data-dir", restored.path,
                                            "--master-key", configuration.keys.masterKeyFile.string])
        #expect(notEmpty.status == 2)

        // The restored folder runs as a gateway with the same master key (installed by the operator).
        let restoredConfiguration = try Self.configuration(restored, sinkPort: sink.port)
        try FileManager.default.copyItem(atPath: configuration.keys.masterKeyFile.string,
                                         toPath: restoredConfiguration.keys.masterKeyFile.string)
        try FileManager.default.setAttributes([.posixPermissions: 0o600],
                                              ofItemAtPath: restoredConfiguration.keys.masterKeyFile.string)
        let second = try await Gateway.start(restoredConfiguration, logger: LogCapture().logger())
        let secondRunning = Task { try await second.run() }
        #expect(second.gatewayKeys["beratung@localhost"] == gatewayKey, "the restored gateway key is the same key")
        let secondPort = try #require(second.listener.localAddress?.port)

        // Every thread readable: the mail of the backup's moment is there (from the store or the spool copy).
        let restoredThreads = try await Self.waitForMessages(second.store, count: 3)
        let incoming = restored.appendingPathComponent("spool/incoming").path
        let drained = ContinuousClock.now + .seconds(60)
        while (try FileManager.default.contentsOfDirectory(atPath: incoming)).contains(where: { $0.hasSuffix(".eml") }),
            ContinuousClock.now < drained { try await Task.sleep(for: .milliseconds(200)) }
        #expect(Set(restoredThreads).isSubset(of: Set(threadsAtSource)))
        var restoredBodies: [String] = []
        for thread in restoredThreads {
            let opened = try await second.store.read { try $0.openThread(thread) }
            restoredBodies += opened.messages.map { String(decoding: $0.body, as: UTF8.self) }
        }
        // Everything accepted before the backup started is restored (from the store copy or the spool copy).
        for canary in Array(canaries.prefix(3)) + beforeBackup {
            #expect(restoredBodies.contains { $0.contains(canary) }, "a mail accepted before the backup is restored")
        }
        let capturedDuring = duringBackup.filter { canary in restoredBodies.contains { $0.contains(canary) } }

        // New encrypted mail imports with the restored daemon.
        let before = restoredBodies.count
        let fresh = try mails("c")
        try await offCooperativePool {
            try RecoveryCLI.send(fresh, to: "beratung@localhost", port: secondPort, folder: root)
        }
        let after = try await Self.waitForMessages(second.store, count: before + fresh.count)
        var total = 0
        var newest: [String] = []
        for thread in after {
            let messages = try await second.store.read { try $0.openThread(thread) }.messages
            total += messages.count
            newest += messages.map { String(decoding: $0.body, as: UTF8.self) }
        }
        #expect(total == before + fresh.count)
        for canary in canaries.suffix(3) { #expect(newest.contains { $0.contains(canary) }) }

        // The audit log is intact: the restored log starts with the source's entries, then records the restore.
        let restoredAudit = try await second.store.read { try $0.auditEntries(limit: 10_000) }
        secondRunning.cancel()
        _ = await secondRunning.result
        let source = try ThreadStore(at: original.appendingPathComponent("threads.sqlite"),
                                     masterKey: try configuration.keys.loadMasterKey())
        let sourceAudit = try await source.read { try $0.auditEntries(limit: 10_000) }
        try source.close()
        let restoreEntry = try #require(restoredAudit.first { $0.event == .backupRestored })
        let copied = restoredAudit.filter { $0.sequence < restoreEntry.sequence }
        #expect(!copied.isEmpty)
        #expect(copied == Array(sourceAudit.prefix(copied.count)))
        print("backup/restore: \(sent) mails before and during the backup, \(archiveBytes.count) archive bytes, "
              + "\(beforeBackup.count + 3) accepted before it, \(duringBackup.count) during it "
              + "(\(capturedDuring.count) of them in the archive), \(restoredBodies.count) messages restored in "
              + "\(restoredThreads.count) threads, \(copied.count) audit entries carried over; backup said: "
              + backup.stdout.replacingOccurrences(of: "\n", with: " | "))
    }
}

