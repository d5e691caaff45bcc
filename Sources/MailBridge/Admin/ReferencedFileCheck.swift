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

/// The files a configuration names, checked for `check-config` (issue 22): each must exist, be a regular file
/// and open for reading; files holding secrets must be closed to group and others. The master key may be missing
/// (`init` creates it, or a systemd credential replaces it) but must have the right length when present.
///
/// The paths come from ``ConfigurationReader/paths``, which records every valid absolute path option while the
/// document is read, so the files are checked in the same run as every other option, also when the file has
/// other problems. Folders (`data.folder`, `keys.gnupg-home`) are not checked: `init` creates them.
///
/// ```swift
/// let problems = ReferencedFileCheck.problems(reader.paths, file: "/etc/mailbridge/mailbridge.toml")
/// ```
///
/// Messages name the option, never the file's contents.
enum ReferencedFileCheck {
    /// How an option's file is checked, by its key.
    enum Kind: Equatable {
        /// A file with a secret (passwords, passphrase, TLS key): owner-only.
        case secret
        /// The master key: owner-only, 32 octets, may be missing.
        case masterKey
        /// A file without secrets (certificate, CA bundle, template).
        case plain
        /// A folder `init` creates: not checked.
        case folder
    }

    static func kind(of option: String) -> Kind {
        let key = option.split(separator: ".").last.map(String.init) ?? option
        switch key {
        case "master-key-file": return .masterKey
        case "passphrase-file", "password-file", "migration-password-file", "tls-key", "secret-file": return .secret
        case "folder", "gnupg-home": return .folder
        default: return .plain
        }
    }

    /// The problems with the files at `paths` (option path, file), in the given order.
    static func problems(_ paths: [(option: String, path: AbsolutePath)], file: String) -> [ConfigurationError] {
        paths.compactMap { problem(option: $0.option, path: $0.path, kind: kind(of: $0.option), file: file) }
    }

    static func problem(option: String, path: AbsolutePath, kind: Kind, file: String) -> ConfigurationError? {
        guard kind != .folder else { return nil }
        var status = stat()
        guard stat(path.string, &status) == 0 else {
            let reason = errno
            if kind == .masterKey && reason == ENOENT { return nil }
            return ConfigurationError(.unreadableFile, file: file, option: option, expected: expected(errno: reason))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            let what = (status.st_mode & S_IFMT) == S_IFDIR ? "a folder" : "not a regular file"
            return ConfigurationError(
                .unreadableFile, file: file, option: option, expected: "a file at this path (it is \(what))")
        }
        let descriptor = open(path.string, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            return ConfigurationError(.unreadableFile, file: file, option: option, expected: expected(errno: errno))
        }
        close(descriptor)
        if kind != .plain, status.st_mode & 0o077 != 0 {
            return ConfigurationError(
                .insecureFile, file: file, option: option,
                expected: "a file only its owner can read and write (chmod 600)")
        }
        if kind == .masterKey, status.st_size != off_t(DataFolderInitializer.masterKeyLength) {
            return ConfigurationError(
                .invalidValue, file: file, option: option,
                expected: "a master key of \(DataFolderInitializer.masterKeyLength) octets, as `mailbridge init` "
                    + "writes it (this file has another length: is it the right file?)")
        }
        return nil
    }

    private static func expected(errno code: Int32) -> String {
        switch code {
        case ENOENT: "an existing file at this path (there is none: create it, or correct the path)"
        case EACCES: "a file that can be read (permission denied: check the file's and its folders' permissions)"
        case ENOTDIR: "an existing file at this path (a part of the path is not a folder)"
        default: "a readable file at this path (\(String(cString: strerror(code))))"
        }
    }
}
