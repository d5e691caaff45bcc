public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Searches PostgreSQL's files for canary strings (issue 21): every file of a data folder (heap and index files,
/// TOAST, the WAL, `pg_xact`, …) and a `pg_dump`, each for the canary's UTF-8 octets and for their hex spelling in
/// lower and upper case (how `BYTEA` shows in a dump, `bytea_output = hex`). A test that stored only sealed values
/// and HMACs finds nothing; a positive control (a canary stored in clear) shows the scan can find.
///
/// ```swift
/// let hits = try PostgresCanaryScan.folder(server.dataDirectory, for: ["CANARY-TOTP-…"])
/// #expect(hits.isEmpty, "\(hits)")
/// ```
public enum PostgresCanaryScan {
    /// Where a canary was found: the file (relative to the scanned folder, or `pg_dump`) and the spelling.
    public struct Hit: Sendable, Hashable, CustomStringConvertible {
        public var canary: String
        public var file: String
        public var spelling: Spelling
        public var description: String { "\(canary) as \(spelling) in \(file)" }
    }

    public enum Spelling: String, Sendable, Hashable {
        case clear, hexLower, hexUpper
    }

    /// The needles of `canary`: its octets, and the ASCII of its lowercase and uppercase hex.
    static func needles(_ canary: String) -> [(Spelling, [UInt8])] {
        let octets = Array(canary.utf8)
        let hex = octets.map { String(format: "%02x", $0) }.joined()
        return [(.clear, octets), (.hexLower, Array(hex.utf8)), (.hexUpper, Array(hex.uppercased().utf8))]
    }

    /// Every hit of every canary in `octets`, labelled `file`.
    public static func scan(_ octets: [UInt8], file: String, for canaries: [String]) -> [Hit] {
        var hits: [Hit] = []
        for canary in canaries {
            for (spelling, needle) in needles(canary) where contains(octets, needle) {
                hits.append(Hit(canary: canary, file: file, spelling: spelling))
            }
        }
        return hits
    }

    /// Every hit in every regular file below `folder` (read as they are: the server's page cache, whatever
    /// `fsync` says).
    public static func folder(_ folder: URL, for canaries: [String]) throws -> [Hit] {
        var hits: [Hit] = []
        for file in try files(below: folder) {
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            let relative = String(file.path.dropFirst(folder.path.count + 1))
            hits += scan(Array(data), file: relative, for: canaries)
        }
        return hits
    }

    /// Every hit in a `pg_dump` of `database` on `server`.
    public static func dump(_ database: String, on server: PostgresServer, for canaries: [String]) throws -> [Hit] {
        scan(try server.dump(database), file: "pg_dump", for: canaries)
    }

    /// The regular files below `folder`, recursively, sorted.
    public static func files(below folder: URL) throws -> [URL] {
        guard let enumerator = FileManager.default.enumerator(
            at: folder, includingPropertiesForKeys: [.isRegularFileKey], options: []) else { return [] }
        var files: [URL] = []
        for case let file as URL in enumerator
        where (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            files.append(file)
        }
        return files.sorted { $0.path < $1.path }
    }

    /// Whether `needle` occurs in `haystack`: `memchr` to each candidate first octet, then `memcmp` (fast enough for
    /// a data folder of a few hundred megabytes).
    public static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        guard needle.count <= haystack.count else { return false }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                guard let start = hay.baseAddress, let pattern = pin.baseAddress else { return false }
                let last = hay.count - pin.count
                var offset = 0
                while offset <= last {
                    guard let hit = memchr(start + offset, Int32(first), last - offset + 1) else { return false }
                    let index = start.distance(to: UnsafeRawPointer(hit))
                    if memcmp(start + index, pattern, pin.count) == 0 { return true }
                    offset = index + 1
                }
                return false
            }
        }
    }
}
