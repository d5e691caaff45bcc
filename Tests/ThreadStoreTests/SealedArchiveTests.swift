import Foundation
import Testing
@testable import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// The sealed backup archive framing: round trip across chunk boundaries; a wrong key, a flipped byte, a cut-off
/// end, a dropped or swapped chunk are all refused; nothing of the plaintext is in the file.
@Suite struct SealedArchiveTests {
    static func write(_ payload: Data, key: MasterKey, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { close(fd) }
        let writer = try SealedArchiveWriter(descriptor: fd, masterKey: key)
        // Uneven pieces, so chunk boundaries fall inside writes.
        var offset = 0
        var piece = 1
        while offset < payload.count {
            let end = min(payload.count, offset + piece)
            try writer.write(payload[offset..<end])
            offset = end
            piece = piece * 7 % 300_001 + 1
        }
        try writer.finish()
    }

    static func read(_ path: String, key: MasterKey, count: Int) throws -> Data {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let reader = try SealedArchiveReader(descriptor: fd, masterKey: key)
        let data = try reader.read(exactly: count)
        #expect(reader.isAtEnd)
        return data
    }

    @Test func roundTripAndEveryTamperingIsRefused() throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let canary = Data("ARCHIVE-CANARY-\(UUID().uuidString)".utf8)
        var payload = Data()
        while payload.count < 2_600_000 {
            payload.append(canary)
            payload.append(contentsOf: (0..<997).map { UInt8($0 % 251) })
        }
        let path = fixture.directory.appending(path: "a.mbk").path
        try Self.write(payload, key: fixture.masterKey, to: path)
        let file = try Data(contentsOf: URL(filePath: path))
        #expect(file.range(of: canary) == nil)
        #expect(try Self.read(path, key: fixture.masterKey, count: payload.count) == payload)

        #expect(throws: SealedArchiveError(.wrongKeyOrDamaged)) {
            _ = try Self.read(path, key: MasterKey.generate(), count: payload.count)
        }
        func variant(_ bytes: Data) throws -> String {
            let other = fixture.directory.appending(path: "v-\(UUID().uuidString).mbk").path
            try bytes.write(to: URL(filePath: other))
            return other
        }
        var flipped = file
        flipped[flipped.count / 2] ^= 0x01
        #expect(throws: SealedArchiveError(.wrongKeyOrDamaged)) {
            _ = try Self.read(try variant(flipped), key: fixture.masterKey, count: payload.count)
        }
        // Cut at a chunk boundary (after the first two whole chunks) and in the middle of a chunk.
        let chunk = 4 + SealedArchiveFormat.chunkSize + 16
        for cut in [SealedArchiveFormat.headerCount + 2 * chunk, file.count - 100] {
            #expect(throws: SealedArchiveError(.truncated)) {
                _ = try Self.read(try variant(file.prefix(cut)), key: fixture.masterKey, count: payload.count)
            }
        }
        // The second chunk dropped, or the first two swapped.
        let header = file.prefix(SealedArchiveFormat.headerCount)
        let first = file.dropFirst(SealedArchiveFormat.headerCount).prefix(chunk)
        let second = file.dropFirst(SealedArchiveFormat.headerCount + chunk).prefix(chunk)
        let rest = file.dropFirst(SealedArchiveFormat.headerCount + 2 * chunk)
        for reordered in [header + first + rest, header + second + first + rest] {
            #expect(throws: SealedArchiveError(.wrongKeyOrDamaged)) {
                _ = try Self.read(try variant(reordered), key: fixture.masterKey, count: payload.count)
            }
        }
        #expect(throws: SealedArchiveError(.notAnArchive)) {
            _ = try Self.read(try variant(Data("SQLite format 3\0".utf8) + file), key: fixture.masterKey, count: 1)
        }
    }
}
