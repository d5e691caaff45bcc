// Security: errors of master key rotation, backup and restore name files and steps only, never key material,
// message content or addresses.

/// Why a master key rotation, backup or restore stopped. The description is for the administrator.
public struct RecoveryError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// A gateway holds the data folder (its GnuPG home lock): stop it first.
        case gatewayRunning
        /// Neither key opens the store (a foreign or damaged store, or the wrong key file).
        case keyMismatch
        /// The output file exists; a backup never overwrites one.
        case outputExists
        /// The restore target is not an empty folder.
        case targetNotEmpty
        /// The archive is malformed (after it opened with the key), or it does not open with the key.
        case archive
        /// The restored data did not pass its verification.
        case verificationFailed
        /// A file system operation failed.
        case io
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
    public var description: String { detail }
}
