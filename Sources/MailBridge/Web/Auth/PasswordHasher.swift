// Security: passwords arrive from the login form and the CLI. They are hashed with bcrypt (HummingbirdBcrypt,
// OpenBSD's implementation) on NIO's thread pool, never on an event loop, and never logged, stored or put in an
// error. Verification of an unknown user name checks a dummy hash of the same cost, so the response time does not
// tell whether the name exists.

import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// The password rules (issue 8): at least 12 characters; at most 72 UTF-8 bytes, because bcrypt ignores
/// everything after byte 72 and a silently shortened password is worse than a refused one; no control characters.
public enum PasswordPolicy {
    /// The shortest accepted password, in characters.
    public static let minimumCharacters = 12
    /// The longest accepted password, in UTF-8 bytes (bcrypt's input limit).
    public static let maximumBytes = 72

    /// Why a password was refused.
    public enum Verdict: Hashable, Sendable {
        case acceptable
        case tooShort
        case tooLong
        case controlCharacters
    }

    /// Checks `password` against the rules.
    public static func check(_ password: String) -> Verdict {
        if password.count < minimumCharacters { return .tooShort }
        if password.utf8.count > maximumBytes { return .tooLong }
        if password.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return .controlCharacters
        }
        return .acceptable
    }

    /// A sentence for the CLI (no part of the password in it).
    public static func explanation(_ verdict: Verdict) -> String {
        switch verdict {
        case .acceptable: "the password is acceptable"
        case .tooShort: "the password must have at least \(minimumCharacters) characters"
        case .tooLong: "the password must have at most \(maximumBytes) bytes (bcrypt ignores the rest)"
        case .controlCharacters: "the password must not contain control characters"
        }
    }

    /// A random initial password: 20 characters from an alphabet without look-alikes (about 113 bits).
    public static func generate() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}

/// Hashes and verifies passwords with bcrypt off the event loops.
///
/// ```swift
/// let hasher = PasswordHasher(cost: 12)
/// let hash = try await hasher.hash("correct horse battery")
/// let ok = try await hasher.verify("correct horse battery", against: hash)   // true
/// ```
public struct PasswordHasher: Sendable {
    /// The bcrypt cost (log2 rounds).
    public let cost: UInt8

    /// Hashes of random passwords per cost, checked when the user name is unknown; made on first use.
    private static let dummyHashes = Mutex<[UInt8: String]>([:])

    /// A hasher with `cost` (clamped to bcrypt's 4…31).
    public init(cost: UInt8 = 12) {
        self.cost = min(max(cost, 4), 31)
    }

    /// Computes the dummy hash now (one blocking bcrypt run), so the first unknown-user login is not slower
    /// than later ones. The web router calls it at start-up.
    public func prepare() { _ = Self.dummyHash(cost: cost) }

    /// The dummy hash of this cost (one bcrypt run the first time; call from the thread pool).
    private static func dummyHash(cost: UInt8) -> String {
        if let hash = dummyHashes.withLock({ $0[cost] }) { return hash }
        let hash = Bcrypt.hash(PasswordPolicy.generate(), cost: cost)
        return dummyHashes.withLock { table in
            if let existing = table[cost] { return existing }
            table[cost] = hash
            return hash
        }
    }

    /// The bcrypt hash of `password` (`$2b$…`, 60 characters).
    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; with `hash` nil (unknown user) checks the dummy hash and returns false,
    /// taking as long as a real check.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let cost = self.cost
        let matches = try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(password, hash: hash ?? Self.dummyHash(cost: cost))
        }
        return hash != nil && matches
    }
}
