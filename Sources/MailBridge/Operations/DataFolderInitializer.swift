// Security: creates the files that hold MailBridge's secrets (the master key) and state. Runs as the admin
// (usually root) before the service starts. The master key is created with O_EXCL and mode 0600 and is never
// overwritten or read back; its bytes never reach output, logs or errors.

import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// Release builds can attribute glibc's `struct stat` to the CDispatch clang module (it includes the same header);
// MemberImportVisibility then needs that module imported too.
#if canImport(CDispatch)
import CDispatch
#endif

/// `mailbridge init`: creates the data folder (0700), the GnuPG home (0700), the master key (32 random octets,
/// 0600, never overwritten), each `[[organisation]]`'s own key file the same way (unless its systemd credential is
/// there) and, if a configuration path is given and nothing is there yet, the example
/// configuration adapted to the data folder. Running it again changes nothing that exists.
///
/// ```swift
/// let report = try DataFolderInitializer.run(dataFolder: try AbsolutePath("/var/lib/mailbridge"),
///                                            configFile: try AbsolutePath("/etc/mailbridge/mailbridge.toml"))
/// print(report.lines.joined(separator: "\n"))
/// ```
public enum DataFolderInitializer {
    /// Length of the master key in octets (a 256-bit `SymmetricKey`).
    public static let masterKeyLength = 32

    /// What `run` did, one line per file, for the admin. Paths only.
    public struct Report: Sendable, Equatable {
        public var created: [String] = []
        public var kept: [String] = []
        /// Where the master key is and how the systemd unit reaches it (issue 22).
        public var notes: [String] = []
        public var lines: [String] {
            created.map { "created \($0)" } + kept.map { "kept    \($0) (exists)" } + notes
        }
    }

    /// Why `init` failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var status: ExitStatus
        public var description: String
    }

    /// Creates what is missing. With `configFile`: an existing file is loaded and must be valid and name the same
    /// data folder; a missing one is written from the example, with the master key beside it.
    public static func run(dataFolder: AbsolutePath, configFile: AbsolutePath?) throws(Failure) -> Report {
        var report = Report()
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: dataFolder)
        var configurationText: String?

        if let configFile {
            if FileManager.default.fileExists(atPath: configFile.string) {
                do {
                    configuration = try BridgeConfiguration.load(file: configFile.string)
                } catch {
                    throw Failure(status: .invalidConfiguration, description: error.fullDescription)
                }
                guard configuration.data.folder == dataFolder else {
                    throw Failure(
                        status: .usage,
                        description: "\(configFile): [data] folder is \(configuration.data.folder), "
                            + "but --data-dir is \(dataFolder); use the same folder in both")
                }
                report.kept.append(configFile.string)
            } else {
                let masterKey = parentFolder(of: configFile).appending("master.key")
                let text = try exampleConfiguration(dataFolder: dataFolder, masterKeyFile: masterKey)
                do {
                    configuration = try BridgeConfiguration.parse(text, file: configFile.string)
                } catch {
                    throw Failure(status: .failure, description: "the example configuration is invalid: \(error)")
                }
                configurationText = text
            }
        }

        try makeFolder(dataFolder, report: &report)
        try makeFolder(configuration.keys.gnupgHome, report: &report)
        if let configFile, configurationText != nil {
            // The service user must reach the configuration: its folder is 0755 (the master key inside is 0600).
            try makeFolder(parentFolder(of: configFile), mode: 0o755, report: &report, createOnly: true)
        }
        try makeFolder(parentFolder(of: configuration.keys.masterKeyFile), report: &report, createOnly: true)
        try createMasterKey(at: configuration.keys.masterKeyFile, report: &report)
        report.notes = masterKeyNotes(configuration.keys, forUnit: configFile != nil)
        try createOrganisationKeys(configuration, report: &report)
        if let configFile, let configurationText {
            // The configuration holds no secrets and the service user must read it: 0644.
            try writeNewFile(configFile, contents: Array(configurationText.utf8), mode: 0o644)
            report.created.append(configFile.string)
        }
        return report
    }

    /// The example configuration with `[data] folder` and `[keys] master-key-file` set.
    static func exampleConfiguration(dataFolder: AbsolutePath, masterKeyFile: AbsolutePath) throws(Failure) -> String {
        let folderLine = #"folder = "/var/lib/mailbridge""#
        let keyLine = #"master-key-file = "/etc/mailbridge/master.key""#
        let text = BridgeConfiguration.exampleText
        guard text.contains(folderLine), text.contains(keyLine),
            !dataFolder.string.contains("\""), !masterKeyFile.string.contains("\""),
            !dataFolder.string.contains("\\"), !masterKeyFile.string.contains("\\")
        else {
            throw Failure(status: .failure, description: "cannot adapt the example configuration to these paths")
        }
        return text
            .replacingOccurrences(of: folderLine, with: "folder = \"\(dataFolder.string)\"")
            .replacingOccurrences(of: keyLine, with: "master-key-file = \"\(masterKeyFile.string)\"")
    }

    static func parentFolder(of path: AbsolutePath) -> AbsolutePath {
        let parent = (path.string as NSString).deletingLastPathComponent
        return (try? AbsolutePath(parent.isEmpty ? "/" : parent)) ?? AbsolutePath(unchecked: "/")
    }

    /// Creates `folder` (and missing parents) with `mode`. An existing folder is kept; unless `createOnly`, its mode
    /// is tightened to 0700 if group or others had access.
    static func makeFolder(
        _ folder: AbsolutePath, mode: mode_t = 0o700, report: inout Report, createOnly: Bool = false
    ) throws(Failure) {
        var status = stat()
        if lstat(folder.string, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else {
                throw Failure(
                    status: .failure,
                    description: "\(folder) exists and is not a folder: move it away or correct the path")
            }
            if !createOnly, status.st_mode & 0o077 != 0 {
                guard chmod(folder.string, 0o700) == 0 else { throw systemFailure("cannot set mode 0700 on", folder) }
                report.created.append("\(folder.string) (mode tightened to 0700)")
            } else if !createOnly {
                report.kept.append(folder.string)
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: folder.string, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        } catch {
            throw Failure(
                status: .failure,
                description: "cannot create \(folder): check that its parent folder exists and is writable")
        }
        // The umask may have changed the mode; make it exactly `mode`.
        guard chmod(folder.string, mode) == 0 else { throw systemFailure("cannot set the mode of", folder) }
        report.created.append(folder.string)
    }

    /// Writes 32 random octets to a new file with mode 0600, unless a file is already there.
    static func createMasterKey(at path: AbsolutePath, report: inout Report) throws(Failure) {
        var status = stat()
        if lstat(path.string, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFREG, status.st_size == off_t(masterKeyLength) else {
                throw Failure(
                    status: .failure,
                    description: "\(path) exists but is not a \(masterKeyLength)-octet file; "
                        + "it was left untouched, check it by hand")
            }
            report.kept.append(path.string)
            return
        }
        // swift-crypto draws from the system's CSPRNG (SystemRandomNumberGenerator / getrandom(2)).
        let key = SymmetricKey(size: .bits256)
        let result: Result<Void, Failure> = key.withUnsafeBytes { bytes in
            Result { () throws(Failure) in try writeNewFile(path, contents: bytes, mode: 0o600) }
        }
        try result.get()
        report.created.append(path.string)
    }

    /// Creates `path` exclusively (O_EXCL, no symlink following) with exactly `mode`, writes and syncs `contents`.
    static func writeNewFile(_ path: AbsolutePath, contents: [UInt8], mode: mode_t) throws(Failure) {
        let result: Result<Void, Failure> = contents.withUnsafeBytes { bytes in
            Result { () throws(Failure) in try writeNewFile(path, contents: bytes, mode: mode) }
        }
        try result.get()
    }

    /// Creates `path` exclusively (O_EXCL, no symlink following) with exactly `mode`, writes and syncs `bytes`.
    static func writeNewFile(_ path: AbsolutePath, contents bytes: UnsafeRawBufferPointer, mode: mode_t)
        throws(Failure)
    {
        let fd = open(path.string, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw systemFailure("cannot create", path) }
        var ok = fchmod(fd, mode) == 0
        var written = 0
        while ok, written < bytes.count {
            let result = write(fd, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { ok = false } else { written += result }
        }
        ok = ok && fsync(fd) == 0
        let savedErrno = errno
        close(fd)
        guard ok else {
            unlink(path.string)
            errno = savedErrno
            throw systemFailure("cannot write", path)
        }
    }

    private static func systemFailure(_ action: String, _ path: AbsolutePath) -> Failure {
        Failure(status: .failure, description: SystemErrorText.sentence(errno, doing: "\(action) \(path)"))
    }
}
