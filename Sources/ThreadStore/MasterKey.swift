// Security: reads the master key from a file or a systemd credential. The file must be a regular file, not a
// symlink, not readable or writable by group/others, and exactly 32 bytes. The key lives only in a
// `SymmetricKey` (zeroed on release by swift-crypto); the read buffer is zeroed after use. Never logged.

public import Crypto
public import Foundation

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

/// The 256-bit key that wraps every thread's data key and keys the store's lookup HMACs.
///
/// ```swift
/// let key = try MasterKey(credentialNamed: "threadstore.key")      // systemd LoadCredential=threadstore.key:/etc/...
/// let key = try MasterKey(contentsOf: URL(filePath: "/var/lib/mailbridge/master.key"))
/// ```
///
/// Provision a key with ``generate()`` and ``write(to:)`` (mode 0600, never overwrites).
public struct MasterKey: Sendable, CustomStringConvertible {
    let key: SymmetricKey

    /// The key file holds exactly this many raw bytes.
    public static let byteCount = 32

    /// Wraps existing key material; it must be 256 bits.
    public init(_ key: SymmetricKey) throws(ThreadStoreError) {
        guard key.bitCount == Self.byteCount * 8 else { throw .masterKeyInvalidLength }
        self.key = key
    }

    /// A fresh random key.
    public static func generate() -> MasterKey {
        MasterKey(unchecked: SymmetricKey(size: .bits256))
    }

    private init(unchecked key: SymmetricKey) { self.key = key }

    /// Loads the key from a file that only its owner may read (mode 0600 or 0400), holding exactly 32 bytes.
    public init(contentsOf url: URL) throws(ThreadStoreError) {
        self.key = try Self.readKeyFile(path: url.path, requireOwnerOnly: true)
    }

    /// Loads the key from a file; `requireOwnerOnly: false` skips the permission check, for a file whose access
    /// someone else guarantees (a systemd credential in `$CREDENTIALS_DIRECTORY`, which systemd keeps private).
    public init(contentsOf url: URL, requireOwnerOnly: Bool) throws(ThreadStoreError) {
        self.key = try Self.readKeyFile(path: url.path, requireOwnerOnly: requireOwnerOnly)
    }

    /// Loads the key from the systemd credential `name` in `$CREDENTIALS_DIRECTORY` (`LoadCredential=`).
    ///
    /// systemd creates the credential file read-only for the service user, the same 0600/0400 check applies.
    public init(
        credentialNamed name: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ThreadStoreError) {
        guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
            throw .credentialsDirectoryMissing
        }
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { throw .invalidValue }
        self.key = try Self.readKeyFile(path: directory + "/" + name, requireOwnerOnly: true)
    }

    /// Writes the key to a new file with mode 0600. Fails with ``ThreadStoreError/masterKeyExists`` if the file
    /// exists, so a key is never overwritten by accident.
    public func write(to url: URL) throws(ThreadStoreError) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw errno == EEXIST ? .masterKeyExists : .masterKeyUnreadable }
        defer { close(fd) }
        let written = key.withUnsafeBytes { buffer in Glibc_write(fd, buffer.baseAddress, buffer.count) }
        guard written == Self.byteCount, fsync(fd) == 0 else { throw .masterKeyUnreadable }
    }

    public var description: String { "MasterKey(<redacted>)" }

    /// Whether `other` holds the same key material (compared in constant time).
    public func isSameKey(as other: MasterKey) -> Bool {
        key.withUnsafeBytes { mine in
            other.key.withUnsafeBytes { theirs in
                guard mine.count == theirs.count else { return false }
                var difference: UInt8 = 0
                for index in 0..<mine.count { difference |= mine[index] ^ theirs[index] }
                return difference == 0
            }
        }
    }

    private static func readKeyFile(path: String, requireOwnerOnly: Bool) throws(ThreadStoreError) -> SymmetricKey {
        // O_NOFOLLOW + fstat on the open descriptor: the checked file is the read file (no TOCTOU).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw errno == ELOOP ? .masterKeyInsecurePermissions : .masterKeyUnreadable }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .masterKeyUnreadable }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .masterKeyInsecurePermissions }
        if requireOwnerOnly, info.st_mode & 0o077 != 0 { throw .masterKeyInsecurePermissions }
        guard info.st_size == off_t(byteCount) else { throw .masterKeyInvalidLength }
        var buffer = [UInt8](repeating: 0, count: byteCount + 1)
        defer { buffer.withUnsafeMutableBytes { memset_s_portable($0) } }
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + total, raw.count - total)
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .masterKeyUnreadable }
            if count == 0 { break }
            total += count
        }
        guard total == byteCount else { throw .masterKeyInvalidLength }
        return SymmetricKey(data: buffer[0..<byteCount])
    }
}

/// `write(2)` under a name that does not clash with ``MasterKey/write(to:)``.
@inline(__always)
private func Glibc_write(_ fd: Int32, _ pointer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, pointer, count)
}

/// Zeroes a buffer in a way the optimiser keeps (volatile-style stores through an opaque pointer).
@inline(never)
func memset_s_portable(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress else { return }
    for index in 0..<buffer.count { base.storeBytes(of: 0, toByteOffset: index, as: UInt8.self) }
}

extension Array where Element == UInt8 {
    /// Zeroes the bytes (key material or plaintext no longer needed) in a way the optimiser keeps.
    public mutating func wipe() { withUnsafeMutableBytes { memset_s_portable($0) } }
}
