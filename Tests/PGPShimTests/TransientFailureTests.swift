import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// Issue 28: a failure whose cause is the engine or the file system is transient (retried), never a verdict.
@Suite struct TransientFailureTests {
    /// gpg-error.h: GPG_ERR_SYSTEM_ERROR = 1 << 15; GPG_ERR_ENOENT = SYSTEM_ERROR | 81, GPG_ERR_EIO = | 49.
    static let enoent: UInt32 = (1 << 15) | 81
    static let eio: UInt32 = (1 << 15) | 49

    @Test(arguments: [
        (enoent, true), (eio, true), (2 << 24 | enoent, true),  // with an error source (GPG_ERR_SOURCE_GPG = 2)
        (13, true), (62, true), (77, true), (78, true), (173, true), (259, true), (270, true), (271, true),
        (17, false), (89, false), (58, false), (152, false), (0, false), (16383, false),  // NO_SECKEY, BAD_DATA …
    ] as [(UInt32, Bool)])
    func gpgErrorCodesAreClassified(code: UInt32, transient: Bool) {
        #expect(PGPError.isTransient(gpgErrorCode: code) == transient)
        #expect(PGPError(.operationFailed, "x", gpgError: code).isTransient == transient)
    }

    @Test func errorAndFailureStatusLinesWithSystemErrorsMakeTheRunTransient() {
        var log = DecryptionStatusLog()
        log.observe(keyword: "ERROR", arguments: "pkdecrypt_failed 33554449")  // NO_SECKEY: a verdict
        #expect(log.transientError == nil)
        log.observe(keyword: "ERROR", arguments: "keydb_search \(2 << 24 | Self.enoent)")
        #expect(log.transientError == 2 << 24 | Self.enoent)
        var failure = DecryptionStatusLog()
        failure.observe(keyword: "FAILURE", arguments: "decrypt \(Self.eio)")
        #expect(failure.transientError == Self.eio)
    }

    /// Status sequences recorded in KeyringStressTests while a foreign gpg rewrote the keyring.
    @Test func runsThatLostTheKeyringAreRecognised() {
        func log(_ lines: [(String, String)]) -> DecryptionStatusLog {
            var log = DecryptionStatusLog()
            for (keyword, arguments) in lines { log.observe(keyword: keyword, arguments: arguments) }
            return log
        }
        let start: [(String, String)] = [("ENC_TO", "C7A3E9F7D6A58BBE 18 0"), ("BEGIN_DECRYPTION", ""),
                                         ("DECRYPTION_INFO", "2 9 0")]
        let end: [(String, String)] = [("DECRYPTION_OKAY", ""), ("GOODMDC", ""), ("END_DECRYPTION", "")]
        let key = ("DECRYPTION_KEY", "EE8667F6361A673A420F5B66C7A3E9F7D6A58BBE 8F2EAF5CC59E501145268EF0B0C940FEF86AA651 u")
        let literal: [(String, String)] = [("PLAINTEXT", "62 1796490363"), ("NEWSIG", "")]
        // Complete, with the key line: not a keyring failure.
        #expect(!log(start + [key] + literal + [("GOODSIG", "77075E0F1A248598 K")] + end).showsKeyringFailure)
        // Decrypted and checked, but gpg could not name the key (no DECRYPTION_KEY).
        #expect(log(start + literal + [("GOODSIG", "77075E0F1A248598 K")] + end).showsKeyringFailure)
        // The run ended inside a signature check.
        #expect(log([key] + start + literal + [("SIG_ID", "x 2026-12-05 1796490364")]).showsKeyringFailure)
        // A bad MDC is a verdict, whatever else is missing.
        #expect(!log(start + [("BADMDC", ""), ("DECRYPTION_FAILED", ""), ("END_DECRYPTION", "")]).showsKeyringFailure)
    }

    /// While `pubring.kbx` is gone (renamed away, as gpg does for a moment on every import), gpg creates an empty
    /// keybox and answers "No secret key" for a message encrypted to the mailbox key. That contradicts the keyring
    /// and is a transient error; once the file is back, the same message decrypts.
    @Test func noSecretKeyWhileTheKeyringIsMissingIsTransient() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let ciphertext = try fixture.clientGPG(["--sign", "--local-user", client.hex, "--encrypt", "--recipient",
                                                gateway.hex], stdin: Array("Hallo".utf8)).stdout
        let keyring = fixture.gatewayHome.appendingPathComponent("pubring.kbx").path
        try FileManager.default.moveItem(atPath: keyring, toPath: keyring + ".away")
        // The import's backup goes too: with it, KeyboxRepair would put a keyring back before the decryption.
        _ = rename(keyring + "~", keyring + ".backup-away")
        await #expect(throws: PGPError.transient) {
            _ = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
        }
        _ = rename(keyring + ".away", keyring)
        let outcome = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
        #expect(outcome.message?.plaintext.bytes.text == "Hallo")
        await fixture.close()
    }

    /// A keyring torn by a gpg killed between its two renames (only `pubring.kbx~` left, as seen after gpg kills in
    /// AgentKillTests) is put back before the next operation, which then decrypts instead of failing for ever.
    @Test func aTornKeyringIsPutBackBeforeTheNextOperation() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("klient@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let ciphertext = try fixture.clientGPG(["--sign", "--local-user", client.hex, "--encrypt", "--recipient",
                                                gateway.hex], stdin: Array("Hallo".utf8)).stdout
        let keyring = fixture.gatewayHome.appendingPathComponent("pubring.kbx").path
        #expect(rename(keyring, keyring + "~") == 0)  // gpg's first rename; the second never happened
        let outcome = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
        #expect(outcome.message?.plaintext.bytes.text == "Hallo")
        #expect(FileManager.default.fileExists(atPath: keyring))
        await fixture.close()
    }

    /// The contradiction check does not turn real verdicts into retries: a message for someone else's key stays
    /// "no secret key" while the keyring is whole.
    @Test func aMessageForAnotherKeyStaysAVerdict() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let stranger = try fixture.makeClientKey("fremd@example.net")
        let ciphertext = try fixture.clientGPG(["--encrypt", "--recipient", stranger.hex],
                                               stdin: Array("Hallo".utf8)).stdout
        let outcome = try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
        guard case .failed(.noSecretKey) = outcome else {
            Issue.record("expected no-secret-key, got \(outcome)")
            return
        }
        await fixture.close()
    }

    /// The cross-process half of the keyring lock: while one operation holds it for writing, another process's
    /// reader (another open file description) cannot take it; readers share it; a waiting writer's turnstile
    /// keeps new readers out.
    @Test func keyringFileLockExcludesAcrossDescriptors() throws {
        let folder = "/tmp/mb-lock-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let lock = HomeFileLock(home: folder)
        func other(_ path: String, _ operation: Int32) -> Bool {
            guard let fd = HomeFileLock.open(path) else { return false }
            defer { close(fd) }
            return flock(fd, operation | LOCK_NB) == 0
        }
        let writer = lock.acquire(.write)
        #expect(!other(lock.keyringPath, LOCK_SH))
        #expect(!other(lock.turnstilePath, LOCK_SH))
        writer.release()
        let reader = lock.acquire(.read)
        #expect(other(lock.keyringPath, LOCK_SH))
        #expect(!other(lock.keyringPath, LOCK_EX))
        #expect(other(lock.turnstilePath, LOCK_EX))  // a reader leaves the turnstile once it holds the keyring
        reader.release()
        #expect(other(lock.keyringPath, LOCK_EX))
    }

    /// The PID of a process that has ended (a child that exited and was reaped).
    static func deadPID() throws -> pid_t {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        return child.processIdentifier
    }

    /// A gpg left running on the home (as after a `kill -9` of the daemon) is waited for, then ended; a second
    /// claim of the same home fails while the first is held, and succeeds after its release.
    @Test func claimingTheHomeEndsStaleGPGAndExcludesASecondDaemon() async throws {
        let fixture = try GnuPGFixture()
        _ = try await fixture.makeGatewayKey()
        // A gpg bound to the home that does not end by itself: it waits for input on a pipe nobody writes to.
        let stale = Process()
        stale.executableURL = URL(fileURLWithPath: "/usr/bin/gpg")
        stale.arguments = ["--homedir", fixture.gatewayHome.path, "--batch", "--dearmor"]
        let input = Pipe()
        stale.standardInput = input
        stale.standardOutput = FileHandle.nullDevice
        try stale.run()
        try await Task.sleep(for: .milliseconds(200))
        #expect(StaleProcesses.bound(to: fixture.gatewayHome.path).contains(stale.processIdentifier))

        // What a gpg killed while taking a lock leaves: its lock temporary. One of a process that is gone, one of a
        // live process (this one), one that only looks similar.
        let home = fixture.gatewayHome.path
        let dead = "\(home)/.#lk0x000055d0c0ffee00.testhost.\(try Self.deadPID())"
        let live = "\(home)/.#lk0x000055d0c0ffee01.testhost.\(getpid())"
        let other = "\(home)/.#notalock.1"
        for path in [dead, live, other] { #expect(FileManager.default.createFile(atPath: path, contents: Data())) }

        let claim = try await fixture.service.claimHome(staleProcessTimeout: 0.5)
        #expect(claim.report.staleProcesses == 1)
        #expect(claim.report.terminated == 1)
        #expect(claim.report.staleLockFiles == 1)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: live) && FileManager.default.fileExists(atPath: other))
        stale.waitUntilExit()
        #expect(StaleProcesses.bound(to: fixture.gatewayHome.path).isEmpty)

        await #expect(throws: PGPError.homeDirectory) { _ = try await fixture.service.claimHome() }
        claim.release()
        let again = try await fixture.service.claimHome(staleProcessTimeout: 0.5)
        #expect(again.report.staleProcesses == 0)
        again.release()
        await fixture.close()
    }
}
