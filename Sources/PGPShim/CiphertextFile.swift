// Security: holds the decoded packets of an untrusted OpenPGP message on disk while gpg decrypts it, so that a
// large message is not held in memory two or three times (issue 23). The file has no name (O_TMPFILE, open(2)):
// nothing can open, replace or link it, a symlink planted in the folder is never followed, and nothing is left
// over after a crash. Where the file system cannot make unnamed files, a named one is created exclusively
// (O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600) and unlinked at once; one left by a crash between the two calls is
// removed by ``removeLeftovers(in:)`` (the spool's recovery at start). Holds ciphertext only, never plaintext.

public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The binary packets of one encrypted message in a private temporary file, written once by ``ArmorDecoder`` and
/// then only read (`pread`, no shared file offset), by the shape check, gpg and the in-process unwrap alike. The
/// descriptor is closed when the object is freed, which frees the disk space.
///
/// ```swift
/// let file = try CiphertextFile(decoding: armoredPart, in: spoolFolder, limit: 64 << 20)
/// let outcome = try await pgp.decryptAndVerify(file, forKeys: keys)
/// ```
public final class CiphertextFile: Sendable {
    /// The file's descriptor, open for reading and writing, close-on-exec.
    let descriptor: Int32
    /// The decoded packets' length in octets.
    public let count: Int
    /// False if the input was not binary OpenPGP and had no readable armor block; the file is then empty, and
    /// decryption refuses it as corrupted (as it does such input in memory).
    public let isReadable: Bool

    /// The name prefix of the named fallback file, which ``removeLeftovers(in:)`` looks for.
    static let fallbackPrefix = ".mailbridge-ciphertext-"

    /// Decodes `message` (binary OpenPGP or armor; see ``ArmorDecoder``) into a new unnamed file in `directory`.
    /// Throws ``PGPError/invalidInput`` if `message` is empty or longer than `limit` (as decryption from memory
    /// does), ``PGPError/transient`` if the file cannot be created or written (a full disk: try again later).
    public convenience init(decoding message: [UInt8], in directory: URL, limit: Int) throws(PGPError) {
        try self.init(decoding: message, in: directory, limit: limit, unnamed: true)
    }

    /// `unnamed`: false tries only the named fallback (tests).
    init(decoding message: [UInt8], in directory: URL, limit: Int, unnamed: Bool) throws(PGPError) {
        guard !message.isEmpty else { throw PGPError(.invalidInput, "ciphertext is empty") }
        guard message.count <= limit else { throw PGPError(.invalidInput, "ciphertext exceeds \(limit) bytes") }
        let descriptor = try Self.create(in: directory.path, unnamed: unnamed)
        var written = 0
        let readable: Bool
        do throws(PGPError) {
            readable = try ArmorDecoder.decode(message) { (chunk: UnsafeRawBufferPointer) throws(PGPError) in
                try Self.write(chunk, to: descriptor, at: written)
                written += chunk.count
            }
            // A message that is not readable gives gpg nothing: the shape check refuses an empty file.
            if !readable, ftruncate(descriptor, 0) != 0 { throw Self.ioError("emptying", errno) }
        } catch {
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.count = readable ? written : 0
        self.isReadable = readable
    }

    deinit {
        close(descriptor)
    }

    /// Exactly the octets of `range` (within `0..<count`).
    func read(_ range: Range<Int>) throws(PGPError) -> [UInt8] {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw PGPError(.operationFailed, "reading outside the ciphertext file")
        }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            while initialized < range.count {
                let got = read(into: UnsafeMutableRawPointer(buffer.baseAddress! + initialized),
                               count: range.count - initialized, at: range.lowerBound + initialized)
                if got <= 0 {
                    failure = got == 0 ? EIO : errno
                    break
                }
                initialized += got
            }
        }
        guard failure == 0 else { throw Self.ioError("reading", failure) }
        return bytes
    }

    /// `pread(2)` of at most `count` octets at `offset`, retried on EINTR: the octets read, 0 at the end, -1 with
    /// `errno` set.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Int {
        while true {
            let got = pread(descriptor, buffer, count, off_t(offset))
            if got < 0, errno == EINTR { continue }
            return got
        }
    }

    /// Removes named fallback files (``fallbackPrefix``) a crash left in `directory`; returns how many. Call it
    /// before anything decrypts (at start).
    @discardableResult
    public static func removeLeftovers(in directory: URL) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(fallbackPrefix) {
            if unlink(directory.appending(path: name).path) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: Creating and writing

    /// `O_TMPFILE` (open(2), Linux 3.11): "Create an unnamed temporary regular file"; its value is
    /// `__O_TMPFILE | O_DIRECTORY` (glibc bits/fcntl-linux.h; the macro is not imported).
    private static let unnamedFileFlag: Int32 = 0o20000000 | O_DIRECTORY

    private static func create(in directory: String, unnamed: Bool) throws(PGPError) -> Int32 {
        if unnamed {
            let descriptor = open(directory, unnamedFileFlag | O_RDWR | O_CLOEXEC, 0o600)
            if descriptor >= 0 { return descriptor }
            // EOPNOTSUPP (or EISDIR on kernels without O_TMPFILE): the file system cannot; anything else is final.
            guard errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL else {
                throw ioError("creating", errno)
            }
        }
        for _ in 0..<8 {
            let name = fallbackPrefix + (0..<16).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
            let path = directory + "/" + name
            // O_EXCL with O_CREAT fails if anything (a symlink included) is at the path; O_NOFOLLOW as well.
            let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if descriptor < 0 {
                if errno == EEXIST { continue }
                throw ioError("creating", errno)
            }
            guard unlink(path) == 0 else {
                let code = errno
                close(descriptor)
                throw ioError("unlinking", code)
            }
            return descriptor
        }
        throw PGPError(.transient, "creating the ciphertext file: no free name")
    }

    private static func write(_ chunk: UnsafeRawBufferPointer, to descriptor: Int32, at offset: Int) throws(PGPError) {
        var done = 0
        while done < chunk.count {
            let written = pwrite(descriptor, chunk.baseAddress! + done, chunk.count - done, off_t(offset + done))
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw ioError("writing", written == 0 ? EIO : errno) }
            done += written
        }
    }

    /// A file-system failure is not a verdict on the message: transient, so the message stays in the spool.
    private static func ioError(_ what: String, _ code: Int32) -> PGPError {
        let name = switch code {
        case ENOSPC: "no space left on device"
        case EDQUOT: "disk quota exceeded"
        case EACCES: "permission denied"
        case ENOENT: "no such folder"
        default: "errno \(code)"
        }
        return PGPError(.transient, "\(what) the ciphertext file: \(name)")
    }
}
