// Security: the manifest travels inside the sealed archive. It holds counts, gateway key fingerprints (public),
// the configuration's SHA-256 and times; no content, no addresses, no secrets.

public import Foundation
public import ThreadStore

/// What a backup archive holds, written as its last entry and checked by the restore.
public struct BackupManifest: Codable, Sendable, Hashable {
    /// The archive's inner format.
    public var format = 1
    public var createdAt: Date
    /// SHA-256 (hex) of the configuration file the gateway ran with (of the effective TOML for `--embedded`).
    public var configurationSHA256: String
    /// The store's row counts, taken from the backed-up copy itself.
    public var store: StoreInventory
    /// The gateway keys' fingerprints (each must decrypt after a restore).
    public var gatewayKeys: [String]
    /// Files below `spool/` and `gnupg/`.
    public var spoolFiles: Int
    public var gnupgFiles: Int
}

/// The entries of an archive's plaintext: `kind(1) pathLength(2) path mode(4) size(8) bytes`, big-endian, ending
/// with kind 0. Paths are relative, below `store/`, `spool/`, `gnupg/`, or `manifest.json`.
enum BackupEntry {
    static let file: UInt8 = 1
    static let end: UInt8 = 0
    static let storeFile = "store/threads.sqlite"
    static let manifestFile = "manifest.json"
    static let maximumPathBytes = 1024

    static func header(path: String, mode: UInt32, size: UInt64) -> Data {
        var data = Data([file])
        let bytes = Data(path.utf8)
        withUnsafeBytes(of: UInt16(bytes.count).bigEndian) { data.append(contentsOf: $0) }
        data.append(bytes)
        withUnsafeBytes(of: mode.bigEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: size.bigEndian) { data.append(contentsOf: $0) }
        return data
    }

    /// A relative path with only normal components below one of the archive's top-level names.
    static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= maximumPathBytes, !path.hasPrefix("/") else { return false }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") }) else {
            return false
        }
        if path == storeFile || path == manifestFile { return true }
        return components.count >= 2 && (components[0] == "spool" || components[0] == "gnupg")
    }
}

extension Data {
    func bigEndianInteger<T: FixedWidthInteger>(_ type: T.Type) -> T {
        var value: T = 0
        for byte in self { value = value << 8 | T(byte) }
        return value
    }
}
