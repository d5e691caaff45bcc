// Security: restores an archive sealed under the master key into a staging folder (0700) beside the target and
// moves it into place only after verification; on any failure the staging folder is removed, so no
// half-restored folder is left. Paths from the archive are authenticated (AEAD) and still checked (relative, no
// `..`, known top-level names); files are created O_EXCL|O_NOFOLLOW, 0600. The verification decrypts in memory
// only; output is counts and fingerprints (public), never content.

import Crypto
public import Foundation
public import Logging
import PGPShim
public import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// `mailbridge restore --from FILE --data-dir DIR --master-key KEYFILE`: unpacks an archive of ``BackupWriter``
/// into `DIR` (absent or empty) and verifies it before it reports success: the counts of the manifest, every
/// thread key unwraps, every gateway key decrypts a test message, the audit log ends where it ended at backup.
public enum BackupRestore {
    /// Restores and verifies; returns the lines to print.
    /// - Parameter configurationText: the configuration the restored gateway will run with, compared with the
    ///   checksum in the archive (a difference is reported, not fatal); nil skips the comparison.
    public static func restore(from archive: URL, into target: URL, masterKey: MasterKey, passphraseFile: URL?,
                               configurationText: Data?, logger: Logger) async throws -> [String] {
        let targetPath = target.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: targetPath, isDirectory: &isDirectory) {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: targetPath)) ?? ["?"]
            guard isDirectory.boolValue, contents.isEmpty else {
                throw RecoveryError(.targetNotEmpty, "\(targetPath) is not an empty folder: restore needs an empty one")
            }
        }
        let parent = URL(fileURLWithPath: targetPath).deletingLastPathComponent().path
        let staging = parent + "/." + URL(fileURLWithPath: targetPath).lastPathComponent
            + ".restore-\(UUID().uuidString.prefix(8))"
        guard mkdir(staging, 0o700) == 0 else {
            throw RecoveryError(.io, "cannot create \(staging): \(String(cString: strerror(errno)))")
        }
        do {
            let manifest = try unpack(archive, into: staging, masterKey: masterKey)
            var lines = try await verify(staging, manifest: manifest, masterKey: masterKey,
                                         passphraseFile: passphraseFile, logger: logger)
            if let configurationText {
                let sum = SHA256.hash(data: configurationText).map { String(format: "%02x", $0) }.joined()
                lines.append(sum == manifest.configurationSHA256
                    ? "configuration: the same as at backup time"
                    : "WARNING: the configuration differs from the one at backup time (SHA-256 "
                        + "\(manifest.configurationSHA256)); check it before starting the gateway")
            }
            if FileManager.default.fileExists(atPath: targetPath) { rmdir(targetPath) }
            try POSIXFile.move(staging, targetPath)
            try POSIXFile.syncDirectory(parent)
            return ["restored \(archive.path) (written \(ISO8601DateFormatter().string(from: manifest.createdAt))) "
                    + "into \(targetPath) and verified it"] + lines
        } catch {
            stopAgent(home: staging + "/gnupg")
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// Writes every entry below `staging`; returns the manifest.
    private static func unpack(_ archive: URL, into staging: String, masterKey: MasterKey) throws -> BackupManifest {
        let fd = open(archive.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RecoveryError(.io, "cannot read \(archive.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        do {
            let reader = try SealedArchiveReader(descriptor: fd, masterKey: masterKey)
            var manifest: BackupManifest?
            while true {
                let kind = try reader.read(exactly: 1).first
                if kind == BackupEntry.end { break }
                guard kind == BackupEntry.file else { throw RecoveryError(.archive, "unknown entry in the archive") }
                let pathLength = Int(try reader.read(exactly: 2).bigEndianInteger(UInt16.self))
                let path = String(decoding: try reader.read(exactly: pathLength), as: UTF8.self)
                _ = try reader.read(exactly: 4)  // mode: every restored file is 0600
                let size = try reader.read(exactly: 8).bigEndianInteger(UInt64.self)
                guard BackupEntry.isSafe(path), size < 1 << 40 else {
                    throw RecoveryError(.archive, "an entry of the archive has an invalid path or size")
                }
                if path == BackupEntry.manifestFile {
                    guard size <= 1 << 20 else { throw RecoveryError(.archive, "the manifest is too large") }
                    let decoder = JSONDecoder()
                    decoder.dateDecodingStrategy = .iso8601
                    manifest = try? decoder.decode(BackupManifest.self, from: try reader.read(exactly: Int(size)))
                    continue
                }
                let destination = path == BackupEntry.storeFile ? staging + "/threads.sqlite" : staging + "/" + path
                try writeFile(destination, size: Int(size), from: reader, below: staging)
            }
            guard reader.isAtEnd else { throw RecoveryError(.archive, "data after the archive's end entry") }
            guard let manifest, manifest.format == 1 else {
                throw RecoveryError(.archive, "the archive has no readable manifest")
            }
            return manifest
        } catch let error as SealedArchiveError {
            throw RecoveryError(.archive, "\(archive.path): \(error); nothing was restored")
        }
    }

    private static func writeFile(_ path: String, size: Int, from reader: SealedArchiveReader,
                                  below staging: String) throws {
        var folder = staging
        for component in path.dropFirst(staging.count + 1).split(separator: "/").dropLast() {
            folder += "/" + component
            guard mkdir(folder, 0o700) == 0 || errno == EEXIST else {
                throw RecoveryError(.io, "cannot create \(folder)")
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw RecoveryError(.archive, "cannot create \(path) (a duplicate entry?)") }
        defer { close(fd) }
        var remaining = size
        while remaining > 0 {
            let piece = try reader.read(exactly: min(remaining, 1 << 20))
            let ok = piece.withUnsafeBytes { raw -> Bool in
                var offset = 0
                while offset < raw.count {
                    let count = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { return false }
                    offset += count
                }
                return true
            }
            guard ok else { throw RecoveryError(.io, "cannot write \(path)") }
            remaining -= piece.count
        }
        guard fsync(fd) == 0 else { throw RecoveryError(.io, "cannot sync \(path)") }
    }

    /// The checks before success; returns the report lines.
    private static func verify(_ staging: String, manifest: BackupManifest, masterKey: MasterKey,
                               passphraseFile: URL?, logger: Logger) async throws -> [String] {
        func fail(_ what: String) -> RecoveryError {
            RecoveryError(.verificationFailed, "verification failed: \(what)")
        }
        var lines: [String] = []
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.logger = logger
        let store: ThreadStore
        do {
            store = try ThreadStore(at: URL(fileURLWithPath: staging + "/threads.sqlite"), masterKey: masterKey,
                                    configuration: storeConfiguration)
        } catch {
            throw fail("the restored store does not open: \(FailureExplanation.message(for: error))")
        }
        do {
            guard try await store.integrityCheck() else { throw fail("the store's integrity check") }
            let inventory = try await store.inventory()
            guard inventory == manifest.store else {
                throw fail("the store holds \(inventory), the backup recorded \(manifest.store)")
            }
            let keys = try await store.verifyThreadKeys()
            guard keys.failed == 0, keys.checked == inventory.threads else {
                throw fail("\(keys.failed) of \(keys.checked) thread keys do not unwrap")
            }
            lines.append("store: \(inventory); all \(keys.checked) thread keys unwrap")
            let spoolFiles = BackupWriter.regularFiles(below: URL(fileURLWithPath: staging + "/spool")).count
            let gnupgFiles = BackupWriter.regularFiles(below: URL(fileURLWithPath: staging + "/gnupg")).count
            guard spoolFiles == manifest.spoolFiles, gnupgFiles == manifest.gnupgFiles else {
                throw fail("spool/GnuPG files: \(spoolFiles)/\(gnupgFiles), recorded "
                           + "\(manifest.spoolFiles)/\(manifest.gnupgFiles)")
            }
            lines.append("spool files: \(spoolFiles), GnuPG home files: \(gnupgFiles)")
            try await checkGatewayKeys(manifest.gatewayKeys, home: staging + "/gnupg", passphraseFile: passphraseFile)
            lines.append("gateway keys: \(manifest.gatewayKeys.count), each decrypted a test message")
            try await store.recordRestore(threads: inventory.threads)
            try await store.checkpoint()
        } catch {
            try? store.close()
            throw error
        }
        try store.close()
        return lines
    }

    /// Encrypts a random test message to each gateway key and decrypts it with the restored home.
    private static func checkGatewayKeys(_ fingerprints: [String], home: String, passphraseFile: URL?) async throws {
        defer { stopAgent(home: home) }
        let pgp = try PGPService(configuration: PGPConfiguration(
            homeDirectory: URL(fileURLWithPath: home), passphrase: passphraseFile.map { .file($0) } ?? .none))
        do {
            for hex in fingerprints {
                let fingerprint = try KeyFingerprint(hex)
                let probe = Array("MailBridge restore check \(UUID().uuidString)".utf8)
                let ciphertext = try await pgp.encrypt(probe, to: [fingerprint], signer: nil)
                guard case .decrypted(let message) = try await pgp.decryptAndVerify(ciphertext, forKeys: [fingerprint]),
                    message.plaintext.bytes == probe
                else {
                    throw RecoveryError(.verificationFailed,
                                        "verification failed: gateway key \(hex) does not decrypt its test message")
                }
            }
        } catch {
            try? await pgp.shutdown()
            throw error
        }
        try await pgp.shutdown()
    }

    /// `gpgconf --homedir <home> --kill all`: no agent of the staging folder outlives the restore.
    static func stopAgent(home: String) {
        guard FileManager.default.fileExists(atPath: home),
            let gpgconf = ["/usr/bin/gpgconf", "/usr/local/bin/gpgconf"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gpgconf)
        process.arguments = ["--homedir", home, "--kill", "all"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }
}
