import Foundation
import Logging
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// `mailbridge master-key rotate` (the real executable) killed with SIGKILL at random points: afterwards the store
/// opens with exactly one of the two keys, every thread is readable with it, and a rerun finishes the rotation.
@Suite(.serialized) struct MasterKeyRotationCrashTests {
    static let threadCount = 400

    /// An initialised data folder with a populated store; returns the folder, the configuration and thread IDs.
    static func installation() async throws -> (URL, BridgeConfiguration, [ThreadID]) {
        let folder = URL(fileURLWithPath: "/tmp/mb-rotate-\(UUID().uuidString.prefix(8))")
        let configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        _ = try DataFolderInitializer.run(dataFolder: configuration.data.folder, configFile: nil)
        let store = try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"),
                                    masterKey: try configuration.keys.loadMasterKey())
        var threads: [ThreadID] = []
        for batch in stride(from: 0, to: threadCount, by: 50) {
            threads += try await store.write { tx in
                try (batch..<(batch + 50)).map { number in
                    let identity = ClientIdentity(
                        field: try CounsellingField("allgemein"),
                        key: try ClientKeyFingerprint(String(format: "%040X", number + 1)),
                        address: try ClientAddress("client\(number)@example.org"))
                    let message = NewMessage(direction: .inbound, messageID: "<m\(number)@example.org>",
                                             subject: "s\(number)", body: Array("body \(number)".utf8),
                                             verdict: .valid, receivedAt: Date(), replayFingerprints: [])
                    guard case .stored(let thread, _, _) = try tx.importMessage(message, into: .client(identity))
                    else { throw ThreadStoreError.invalidValue }
                    return thread
                }
            }
        }
        try await store.write { tx in
            try tx.enqueueOutbox(NewOutboxItem(
                thread: nil, kind: .redirectReply, recipient: try ClientAddress("p@example.org"),
                payload: Array("redirect".utf8), notBefore: Date()))
        }
        try store.close()
        return (folder, configuration, threads)
    }

    static func keyBytes(_ path: String) -> Data? {
        guard let data = FileManager.default.contents(atPath: path), data.count == MasterKey.byteCount else {
            return nil
        }
        return data
    }

    /// A `MasterKey` of raw bytes, through a private temporary file (the only public way in).
    static func key(_ data: Data) throws -> MasterKey {
        let path = "/tmp/mb-key-\(UUID().uuidString)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { unlink(path) }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return try MasterKey(contentsOf: URL(fileURLWithPath: path))
    }

    /// Opens the store with `key` and reads every thread's first message.
    static func readAll(_ url: URL, key: MasterKey, threads: [ThreadID]) async throws -> Int {
        let store = try ThreadStore(at: url, masterKey: key)
        defer { try? store.close() }
        var readable = 0
        for (number, thread) in threads.enumerated() {
            let opened = try await store.read { tx in try tx.openThread(thread) }
            if opened.messages.first?.body == Array("body \(number)".utf8) { readable += 1 }
        }
        return readable
    }

    @Test(.timeLimit(.minutes(10))) func killDashNineAtRandomPointsLeavesExactlyOneWorkingKey() async throws {
        let (folder, configuration, threads) = try await Self.installation()
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyPath = configuration.keys.masterKeyFile.string
        let nextPath = keyPath + ".next"
        let storeURL = folder.appendingPathComponent("threads.sqlite")
        let binary = try RecoveryCLI.binary()
        let arguments = ["master-key", "rotate", "--embedded", "--data-dir", folder.path]
        let initialKey = try #require(Self.keyBytes(keyPath))
        var everyKey: [Data] = [initialKey]

        // One uninterrupted run measures how long a rotation takes; kills are spread over 0…120 % of that.
        let started = ContinuousClock.now
        let first = try RecoveryCLI.run(arguments)
        try #require(first.status == 0, "rotate failed: \(first.stderr)")
        let duration = ContinuousClock.now - started
        everyKey.append(try #require(Self.keyBytes(keyPath)))
        var generator = SystemRandomNumberGenerator()
        var outcomes: [String: Int] = [:]
        let cycles = 30
        for cycle in 0..<cycles {
            let before = try #require(Self.keyBytes(keyPath))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let delay = duration * Double.random(in: 0...1.2, using: &generator)
            try process.run()
            try await Task.sleep(for: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let killed = process.terminationReason == .uncaughtSignal

            let current = try #require(Self.keyBytes(keyPath), "the key file is always whole")
            let next = Self.keyBytes(nextPath)
            var candidates = [before]
            for key in [current, next].compactMap({ $0 }) where !candidates.contains(key) { candidates.append(key) }
            var openers: [Data] = []
            for candidate in candidates where try RecoveryCLI.opens(storeURL, with: try Self.key(candidate)) {
                openers.append(candidate)
            }
            #expect(openers.count == 1, "cycle \(cycle): \(openers.count) keys open the store")
            let opener = try #require(openers.first)
            #expect(try await Self.readAll(storeURL, key: try Self.key(opener), threads: threads) == threads.count)
            if current != before {
                #expect(!(try RecoveryCLI.opens(storeURL, with: try Self.key(before))), "the old key opens nothing")
            }
            let outcome = !killed ? "finished before the kill"
                : current != before ? "killed after the rename"
                : next == nil ? "killed before the new key was written"
                : opener == before ? "killed after the new key was written, before the commit"
                : "killed after the commit, before the rename"
            outcomes[outcome, default: 0] += 1
            for key in [current, next].compactMap({ $0 }) where !everyKey.contains(key) { everyKey.append(key) }
        }

        // A final run finishes or restarts whatever was interrupted.
        let last = try RecoveryCLI.run(arguments)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(!FileManager.default.fileExists(atPath: nextPath))
        let final = try #require(Self.keyBytes(keyPath))
        for key in everyKey where key != final {
            #expect(!(try RecoveryCLI.opens(storeURL, with: try Self.key(key))), "no earlier key opens the store")
        }
        #expect(try await Self.readAll(storeURL, key: try Self.key(final), threads: threads) == threads.count)
        let store = try ThreadStore(at: storeURL, masterKey: try Self.key(final))
        let generation = try await store.keyGeneration()
        #expect(try await store.verifyThreadKeys() == (checked: threads.count, failed: 0))
        let due = try await store.write { tx in try tx.dueOutboxItems(now: .distantFuture) }
        #expect(due.map(\.payload) == [Array("redirect".utf8)])
        try store.close()
        print("master key rotation kill -9: \(cycles) cycles, rotation \(duration), generation \(generation), "
              + "outcomes \(outcomes.sorted { $0.key < $1.key })")
    }

    @Test func rotateRefusesWhileTheGatewayHoldsTheInstallation() async throws {
        let (folder, configuration, _) = try await Self.installation()
        defer { try? FileManager.default.removeItem(at: folder) }
        let before = try #require(Self.keyBytes(configuration.keys.masterKeyFile.string))
        // The gateway's own claim (PGPShim HomeClaim), as `serve` takes it at start.
        let pgp = try PGPService(configuration: PGPConfiguration(
            homeDirectory: URL(fileURLWithPath: configuration.keys.gnupgHome.string)))
        let claim = try await pgp.claimHome(staleProcessTimeout: 0.5)
        let refused = try RecoveryCLI.run(["master-key", "rotate", "--embedded", "--data-dir", folder.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the gateway is running"))
        #expect(Self.keyBytes(configuration.keys.masterKeyFile.string) == before)
        #expect(!FileManager.default.fileExists(atPath: configuration.keys.masterKeyFile.string + ".next"))
        claim.release()
        try await pgp.shutdown()
        let done = try RecoveryCLI.run(["master-key", "rotate", "--embedded", "--data-dir", folder.path])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(Self.keyBytes(configuration.keys.masterKeyFile.string) != before)
    }

    /// A rotation killed after its commit and before the rename: the gateway refuses to start with an error that
    /// says what to do, and the rerun of `rotate` lets it start.
    @Test func gatewayStartAfterAnInterruptedRotationSaysHowToFinishIt() async throws {
        let (folder, configuration, threads) = try await Self.installation()
        defer { try? FileManager.default.removeItem(at: folder) }
        let keyPath = configuration.keys.masterKeyFile.string
        let next = MasterKey.generate()
        try next.write(to: URL(fileURLWithPath: keyPath + ".next"))
        _ = try await ThreadStore.rotateMasterKey(at: folder.appendingPathComponent("threads.sqlite"),
                                                  from: try configuration.keys.loadMasterKey(), to: next)
        do {
            let installation = try await OpenedInstallation.open(configuration, logger: Logger(label: "test"))
            await installation.close()
            Issue.record("the installation opened with the old key")
        } catch let error as RecoveryError {
            #expect(error.code == .keyMismatch)
            #expect(error.description.contains("run `mailbridge master-key rotate` to finish it"))
        }
        let finish = try RecoveryCLI.run(["master-key", "rotate", "--embedded", "--data-dir", folder.path])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(finish.stdout.contains("finished an interrupted rotation"))
        let installation = try await OpenedInstallation.open(configuration, logger: Logger(label: "test"))
        #expect(try await installation.store.verifyThreadKeys() == (checked: threads.count, failed: 0))
        await installation.close()
        _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                           allowFailure: true)
    }
}
