// Security: a backup archive is sealed as a whole under a key derived from the master key (HKDF-SHA256 with a
// random per-archive salt) in chunks of ChaCha20-Poly1305 (RFC 8439). Each chunk's associated data binds the
// archive header, the chunk's index and whether it is the last one, so chunks cannot be reordered, dropped,
// duplicated or cut off at the end without the reader noticing. Nothing in the file is in clear except the
// magic, the version, the salt and the chunk lengths. A reader returns only authenticated bytes.

public import Foundation
import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a sealed archive could not be written or read. Content-free.
public struct SealedArchiveError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// Not a MailBridge backup archive (magic or version).
        case notAnArchive
        /// A chunk did not open: the master key is not the one the archive was written with, or it was altered.
        case wrongKeyOrDamaged
        /// The archive ends before its last chunk (cut off).
        case truncated
        /// Reading or writing the file failed.
        case io
    }

    public var code: Code
    public init(_ code: Code) { self.code = code }

    public var description: String {
        switch code {
        case .notAnArchive: "not a MailBridge backup archive"
        case .wrongKeyOrDamaged:
            "the archive does not open with this master key (a different key, or the archive was altered)"
        case .truncated: "the archive is cut off (incomplete copy)"
        case .io: "the archive cannot be read or written"
        }
    }
}

/// The framing shared by ``SealedArchiveWriter`` and ``SealedArchiveReader``.
enum SealedArchiveFormat {
    static let magic = Data("MBBACKUP".utf8)
    static let version: UInt8 = 1
    static let saltCount = 32
    static let headerCount = 8 + 1 + 32
    /// Plaintext bytes per chunk.
    static let chunkSize = 1 << 20
    /// The high bit of a chunk's length word marks the last chunk.
    static let finalFlag: UInt32 = 1 << 31

    static func key(master: MasterKey, salt: Data) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: master.key, salt: salt,
                               info: Data("MailBridge backup archive v1".utf8), outputByteCount: 32)
    }

    /// Deterministic nonce: the chunk index (unique per archive key, which is unique per salt).
    static func nonce(_ index: UInt64) throws -> ChaChaPoly.Nonce {
        var bytes = Data(repeating: 0, count: 4)
        withUnsafeBytes(of: index.bigEndian) { bytes.append(contentsOf: $0) }
        return try ChaChaPoly.Nonce(data: bytes)
    }

    static func associatedData(header: Data, index: UInt64, final: Bool) -> Data {
        PieceBinding.associatedData(prefix: header, index: index, last: final)
    }
}

/// Writes a sealed archive to an open file descriptor (which it does not close).
///
/// ```swift
/// let writer = try SealedArchiveWriter(descriptor: fd, masterKey: key)
/// try writer.write(bytes)
/// try writer.finish()          // seals the last chunk; without it the archive reads as truncated
/// ```
public final class SealedArchiveWriter {
    private let descriptor: Int32
    private let key: SymmetricKey
    private let header: Data
    private var buffer = Data()
    private var index: UInt64 = 0
    private var finished = false

    public init(descriptor: Int32, masterKey: MasterKey) throws(SealedArchiveError) {
        self.descriptor = descriptor
        var salt = Data(count: SealedArchiveFormat.saltCount)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255, using: &generator) }
        var header = SealedArchiveFormat.magic
        header.append(SealedArchiveFormat.version)
        header.append(salt)
        self.header = header
        key = SealedArchiveFormat.key(master: masterKey, salt: salt)
        try writeAll(header)
    }

    /// Appends plaintext; full chunks are sealed and written at once.
    public func write(_ bytes: some DataProtocol) throws(SealedArchiveError) {
        precondition(!finished, "write after finish")
        buffer.append(contentsOf: bytes)
        while buffer.count > SealedArchiveFormat.chunkSize {
            let chunk = buffer.prefix(SealedArchiveFormat.chunkSize)
            try seal(Data(chunk), final: false)
            buffer.removeFirst(SealedArchiveFormat.chunkSize)
        }
    }

    /// Seals what is left as the last chunk and fsyncs the file.
    public func finish() throws(SealedArchiveError) {
        precondition(!finished, "finish twice")
        try seal(buffer, final: true)
        buffer.removeAll()
        finished = true
        guard fsync(descriptor) == 0 else { throw SealedArchiveError(.io) }
    }

    private func seal(_ chunk: Data, final: Bool) throws(SealedArchiveError) {
        let box: ChaChaPoly.SealedBox
        do {
            box = try ChaChaPoly.seal(
                chunk, using: key, nonce: SealedArchiveFormat.nonce(index),
                authenticating: SealedArchiveFormat.associatedData(header: header, index: index, final: final))
        } catch {
            throw SealedArchiveError(.io)
        }
        let sealed = box.ciphertext + box.tag
        var length = UInt32(sealed.count) | (final ? SealedArchiveFormat.finalFlag : 0)
        length = length.bigEndian
        try writeAll(withUnsafeBytes(of: length) { Data($0) } + sealed)
        index += 1
    }

    private func writeAll(_ data: Data) throws(SealedArchiveError) {
        let ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let count = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        guard ok else { throw SealedArchiveError(.io) }
    }
}

/// Reads a sealed archive from an open file descriptor (which it does not close); returns only authenticated
/// plaintext and fails at the first chunk that does not open.
public final class SealedArchiveReader {
    private let descriptor: Int32
    private let key: SymmetricKey
    private let header: Data
    private var buffer = Data()
    private var index: UInt64 = 0
    private var sawFinal = false

    public init(descriptor: Int32, masterKey: MasterKey) throws(SealedArchiveError) {
        self.descriptor = descriptor
        var header = Data()
        guard try Self.read(descriptor, count: SealedArchiveFormat.headerCount, into: &header),
            header.prefix(8) == SealedArchiveFormat.magic, header[header.startIndex + 8] == SealedArchiveFormat.version
        else { throw SealedArchiveError(.notAnArchive) }
        self.header = header
        key = SealedArchiveFormat.key(master: masterKey, salt: header.suffix(SealedArchiveFormat.saltCount))
        try nextChunk()  // a wrong key fails here, before the caller writes anything
    }

    /// Exactly `count` bytes of plaintext, or ``SealedArchiveError/Code/truncated`` if the archive ends first.
    public func read(exactly count: Int) throws(SealedArchiveError) -> Data {
        while buffer.count < count {
            guard !sawFinal else { throw SealedArchiveError(.truncated) }
            try nextChunk()
        }
        let out = Data(buffer.prefix(count))
        buffer.removeFirst(count)
        return out
    }

    /// Whether the last chunk has been read and all of its plaintext consumed.
    public var isAtEnd: Bool { sawFinal && buffer.isEmpty }

    private func nextChunk() throws(SealedArchiveError) {
        var word = Data()
        guard try Self.read(descriptor, count: 4, into: &word) else { throw SealedArchiveError(.truncated) }
        let raw = word.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }
        let final = raw & SealedArchiveFormat.finalFlag != 0
        let length = Int(raw & ~SealedArchiveFormat.finalFlag)
        guard length >= 16, length <= SealedArchiveFormat.chunkSize + 16 else {
            throw SealedArchiveError(.wrongKeyOrDamaged)
        }
        var sealed = Data()
        guard try Self.read(descriptor, count: length, into: &sealed) else { throw SealedArchiveError(.truncated) }
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: SealedArchiveFormat.nonce(index), ciphertext: sealed.prefix(length - 16),
                tag: sealed.suffix(16))
            buffer.append(try ChaChaPoly.open(
                box, using: key,
                authenticating: SealedArchiveFormat.associatedData(header: header, index: index, final: final)))
        } catch {
            throw SealedArchiveError(.wrongKeyOrDamaged)
        }
        index += 1
        if final {
            sawFinal = true
            var extra = Data()
            if try Self.read(descriptor, count: 1, into: &extra) { throw SealedArchiveError(.wrongKeyOrDamaged) }
        }
    }

    /// Reads `count` bytes; false at end of file before the first byte or in the middle.
    private static func read(_ fd: Int32, count: Int, into data: inout Data) throws(SealedArchiveError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: count)
        var total = 0
        while total < count {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, count - total) }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw SealedArchiveError(.io) }
            if got == 0 { return false }
            total += got
        }
        data.append(contentsOf: chunk)
        return true
    }
}
