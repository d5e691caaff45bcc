// Security: reads the master key that seals the thread store. The bytes go straight into a `SymmetricKey`
// (zeroed when released); they never appear in errors or logs. A key file open to group or others, or a symbolic
// link, is refused. The file checks themselves are ThreadStore's `MasterKey(contentsOf:)`: one reader for both.

import Foundation
public import ThreadStore

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

extension BridgeConfiguration.KeysSection {
    /// Reads the master key: the systemd credential `$CREDENTIALS_DIRECTORY/<master-key-credential>` when present,
    /// otherwise `master-key-file`. The key must be exactly 32 octets; a plain file (not a credential, which
    /// systemd keeps private) must have no group or other permissions.
    ///
    /// ```swift
    /// let key = try configuration.keys.loadMasterKey()
    /// ```
    public func loadMasterKey(environment: [String: String]? = nil) throws(MasterKeyError) -> MasterKey {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let path = masterKeyPath(environment: environment) { FileManager.default.fileExists(atPath: $0) }
        let isCredential = path != masterKeyFile.string
        do {
            return try MasterKey(contentsOf: URL(fileURLWithPath: path), requireOwnerOnly: !isCredential)
        } catch {
            switch error {
            case .masterKeyInvalidLength: throw MasterKeyError(.wrongLength, path: path)
            case .masterKeyInsecurePermissions: throw MasterKeyError(.insecurePermissions, path: path)
            default: throw MasterKeyError(.unreadable, path: path)
            }
        }
    }
}

/// Why the master key could not be read. Names the path, never key material.
public struct MasterKeyError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// Missing, not a regular file, a symbolic link, or not readable.
        case unreadable
        /// Not exactly 32 octets.
        case wrongLength
        /// A plain key file that group or others may access.
        case insecurePermissions
    }

    public var code: Code
    public var path: String
    public var errno: Int32

    public init(_ code: Code, path: String, errno: Int32 = 0) {
        self.code = code
        self.path = path
        self.errno = errno
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        switch code {
        case .unreadable:
            let reason = errno == 0 ? "" : ": \(String(cString: strerror(errno)))"
            return "master key \(path) cannot be read\(reason) (a new installation: create it with `mailbridge init`; "
                + "an existing store needs the key it was sealed with: put it back from your key backup)"
        case .wrongLength:
            return "master key \(path) is not \(DataFolderInitializer.masterKeyLength) octets long (put back the key "
                + "the store was sealed with from your key backup)"
        case .insecurePermissions: return "master key \(path) is accessible by group or others (chmod 600)"
        }
    }
}
