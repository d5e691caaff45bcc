// Security: writes one archive sealed as a whole under the master key (ThreadStore `SealedArchiveWriter`):
// the store (itself sealed per value), the spool (which holds received mail as it came, plain mail included),
// the GnuPG home (the gateway's secret keys) and a manifest. Nothing of it is written in clear: the store copy
// is staged inside the private data folder and deleted; the archive is created 0600 under a temporary name and
// linked to its final name without overwriting anything. The master key itself is never in the archive.

import Crypto
public import Foundation
import PGPShim
import ThreadStore

#if canImport(Glibc)
import Glibc
#endif
// Release builds can attribute glibc's `struct stat` to the CDispatch clang module (it includes the same header);
// MemberImportVisibility then needs that module imported too.
#if canImport(CDispatch)
import CDispatch
#endif

/// `mailbridge backup --out FILE`, while the gateway runs: spool first, then the store (SQLite online backup),
/// then the GnuPG home under the keyring's read lock. A message accepted before the backup started is in the
/// spool copy or in the store copy (or both: the restored gateway's import is idempotent); a client key imported
/// before the store copy ended is in the GnuPG copy.
public enum BackupWriter {
    /// Writes the archive; fails with ``RecoveryError/Code/outputExists`` if `file` exists.
    public static func write(_ installation: OpenedInstallation, to file: URL,
                             configurationText: Data) async throws -> AdminResult {
        let target = file.standardizedFileURL.path
        guard !FileManager.default.fileExists(atPath: target) else {
            throw RecoveryError(.outputExists, "\(target) exists: a backup never overwrites a file; choose a new name")
        }
        let masterKey = try installation.configuration.keys.loadMasterKey()
        let partial = target + ".partial-\(UUID().uuidString)"
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw RecoveryError(.io, "cannot create \(target): \(String(cString: strerror(errno)))")
        }
        let manifest: BackupManifest
        do {
            defer { close(fd) }
            let writer = try SealedArchiveWriter(descriptor: fd, masterKey: masterKey)
            manifest = try await writeEntries(installation, masterKey: masterKey, writer: writer,
                                              configurationText: configurationText)
            try writer.finish()
        } catch {
            unlink(partial)
            throw error
        }
        // link(2) fails with EEXIST instead of replacing: a file created meanwhile is never overwritten.
        let linked = link(partial, target) == 0
        let linkError = errno
        unlink(partial)
        guard linked else {
            if linkError == EEXIST { throw RecoveryError(.outputExists, "\(target) appeared meanwhile: not replaced") }
            throw RecoveryError(.io, "cannot create \(target): \(String(cString: strerror(linkError)))")
        }
        try? POSIXFile.syncDirectory(URL(fileURLWithPath: target).deletingLastPathComponent().path)
        return AdminResult(output: """
            wrote \(target) (sealed under the master key; the key is not in it: keep it apart, see docs/operations.md)
            store: \(manifest.store)
            spool files: \(manifest.spoolFiles), GnuPG home files: \(manifest.gnupgFiles), \
            gateway keys: \(manifest.gatewayKeys.count)
            configuration SHA-256: \(manifest.configurationSHA256)
            """)
    }

    private static func writeEntries(_ installation: OpenedInstallation, masterKey: MasterKey,
                                     writer: SealedArchiveWriter, configurationText: Data) async throws
        -> BackupManifest
    {
        // 1. The spool: accepted and quarantined entries (tmp holds only half-received mail).
        let spool = installation.dataFolder.appendingPathComponent("spool")
        var spoolFiles = 0
        for folder in ["incoming", "quarantine"] {
            for relative in regularFiles(below: spool.appendingPathComponent(folder)) {
                let path = spool.appendingPathComponent(folder).appendingPathComponent(relative).path
                if try addFile(path, as: "spool/\(folder)/\(relative)", to: writer) { spoolFiles += 1 }
            }
        }

        // 2. The store: an online copy in the private data folder, counted from the copy itself.
        let staged = installation.dataFolder.appendingPathComponent(".backup-\(UUID().uuidString).sqlite")
        defer { for suffix in ["", "-wal", "-shm"] { unlink(staged.path + suffix) } }
        try await installation.store.backup(to: staged)
        let copy = try ThreadStore(at: staged, masterKey: masterKey)
        let inventory: StoreInventory
        do {
            inventory = try await copy.inventory()
            try await copy.checkpoint()
        } catch {
            try? copy.close()
            throw error
        }
        try copy.close()
        guard try addFile(staged.path, as: BackupEntry.storeFile, to: writer) else {
            throw RecoveryError(.io, "the store copy vanished")
        }

        // 3. The GnuPG home, read under the keyring's read lock (no key import or generation meanwhile).
        let home = installation.configuration.keys.gnupgHome.string
        let gnupg = try await installation.pgp.withContext { _ in
            try regularFiles(below: URL(fileURLWithPath: home)).filter(isKeyringFile).map { relative in
                let url = URL(fileURLWithPath: home).appendingPathComponent(relative)
                return (relative, try Data(contentsOf: url))
            }
        }
        for (relative, data) in gnupg {
            try writer.write(BackupEntry.header(path: "gnupg/\(relative)", mode: 0o600, size: UInt64(data.count)))
            try writer.write(data)
        }

        let manifest = BackupManifest(
            createdAt: Date(),
            configurationSHA256: SHA256.hash(data: configurationText).map { String(format: "%02x", $0) }.joined(),
            store: inventory,
            gatewayKeys: installation.gatewayKeys.values.map(\.hex).sorted(),
            spoolFiles: spoolFiles, gnupgFiles: gnupg.count)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let json = try encoder.encode(manifest)
        try writer.write(BackupEntry.header(path: BackupEntry.manifestFile, mode: 0o600, size: UInt64(json.count)))
        try writer.write(json)
        try writer.write(Data([BackupEntry.end]))
        return manifest
    }

    /// Not copied from the GnuPG home: sockets (not regular files anyway), lock files and our daemon lock.
    static func isKeyringFile(_ relative: String) -> Bool {
        let name = relative.split(separator: "/").last.map(String.init) ?? relative
        return !name.hasSuffix(".lock") && !name.hasPrefix(".#lk") && name != "random_seed"
    }

    /// Relative paths of the regular files below `root` (no symbolic links followed), sorted.
    static func regularFiles(below root: URL) -> [String] {
        guard let paths = try? FileManager.default.subpathsOfDirectory(atPath: root.path) else { return [] }
        return paths.filter { relative in
            var info = stat()
            return lstat(root.path + "/" + relative, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        }.sorted()
    }

    /// Streams one file into the archive; false if it vanished before it was opened (a spool entry processed
    /// meanwhile).
    private static func addFile(_ path: String, as name: String, to writer: SealedArchiveWriter) throws -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw RecoveryError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw RecoveryError(.io, "\(path) is not a regular file")
        }
        let size = Int(info.st_size)
        try writer.write(BackupEntry.header(path: name, mode: 0o600, size: UInt64(size)))
        var remaining = size
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while remaining > 0 {
            let count = read(fd, &chunk, min(chunk.count, remaining))
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw RecoveryError(.io, "\(path) changed while it was copied") }
            try writer.write(chunk[0..<count])
            remaining -= count
        }
        return true
    }
}
