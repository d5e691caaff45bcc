import Crypto
import Foundation
import GRDB
import Testing
@testable import ThreadStore

/// Issue 23: large bodies and attachments are sealed in pieces (format 2, ``SealedPieces``) and written into their
/// rows piece by piece. They must open to exactly what was imported, every tampering with the pieces must fail to
/// open, and the import must not hold whole copies of the value (measured in a child process).
@Suite struct LargeValueTests {
    private static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    @Test(arguments: [LargeSealedValue.threshold - 1, LargeSealedValue.threshold, LargeSealedValue.threshold + 1,
                      3 * SealedPieces.pieceLength, 3 * SealedPieces.pieceLength + 17])
    func largeValuesOpenToWhatWasImported(size: Int) async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        var built = Sample.message("large-\(size)", at: Date())
        built.body = Self.pattern(size, seed: 1)
        built.attachments = [NewAttachment(name: "a.bin", mediaType: "application/octet-stream",
                                           content: Self.pattern(size + 5, seed: 2))]
        let message = built
        let thread = try await store.write { tx in
            try tx.importMessage(message, into: .client(Sample.identity())).storedThread!
        }
        let opened = try await store.read { tx in try tx.openThread(thread) }
        #expect(opened.messages.count == 1)
        #expect(opened.messages.first?.body == message.body)
        #expect(opened.messages.first?.attachments.first?.content == message.attachments[0].content)
        // Format 2 from the threshold on, format 1 below it; the length is what SealedPieces says.
        let (body, content) = try await store.pool.read { db in
            (try Data.fetchOne(db, sql: "SELECT body_sealed FROM message")!,
             try Data.fetchOne(db, sql: "SELECT content_sealed FROM attachment")!)
        }
        if size >= LargeSealedValue.threshold {
            #expect(body.first == SealedPieces.version)
            #expect(body.count == SealedPieces.sealedLength(plaintextCount: size))
            #expect(content.count == SealedPieces.sealedLength(plaintextCount: size + 5))
        } else {
            #expect(body.first == Sealing.version)
            #expect(body.count == size + Sealing.overhead)
        }
        // The same message again is a duplicate (the content HMAC does not depend on the format).
        let again = try await store.write { tx in try tx.importMessage(message, into: .client(Sample.identity())) }
        guard case .duplicate = again else { Issue.record("expected a duplicate, got \(again)"); return }
    }

    /// Tampering with a stored format-2 value, each way: it must not open.
    @Test func tamperedPiecesDoNotOpen() throws {
        let key = SymmetricKey(size: .bits256)
        let context = SealContext(table: "message", column: "body_sealed", threadID: "t", rowID: "r")
        let plaintext = Self.pattern(3 * SealedPieces.pieceLength + 100, seed: 3)
        var sealed = Data()
        try SealedPieces.seal(plaintext, key: key, context: context) { part, offset in
            #expect(offset == sealed.count)
            sealed.append(part)
        }
        #expect(sealed.count == SealedPieces.sealedLength(plaintextCount: plaintext.count))
        #expect(try Array(Sealing.open(sealed, key: key, context: context)) == plaintext)

        let piece = SealedPieces.pieceLength + SealedPieces.pieceOverhead
        let header = SealedPieces.headerLength
        func pieceRange(_ index: Int) -> Range<Int> { (header + index * piece)..<(header + (index + 1) * piece) }
        var cases: [(String, Data)] = []
        var flipped = sealed
        flipped[header + piece + 40] ^= 1
        cases.append(("a flipped ciphertext byte", flipped))
        cases.append(("the last piece dropped", sealed.prefix(header + 3 * piece)))
        cases.append(("the last piece cut short", sealed.dropLast(1)))
        var swapped = sealed
        swapped.replaceSubrange(pieceRange(0), with: sealed[pieceRange(1)])
        swapped.replaceSubrange(pieceRange(1), with: sealed[pieceRange(0)])
        cases.append(("two pieces swapped", swapped))
        var repeated = sealed
        repeated.replaceSubrange(pieceRange(1), with: sealed[pieceRange(0)])
        cases.append(("a piece repeated", repeated))
        var declared = sealed
        declared[header - 1] ^= 0x10
        cases.append(("another piece length declared", declared))
        var tiny = sealed
        tiny.replaceSubrange(1..<header, with: [0, 0, 0, 16])
        cases.append(("a piece length below the minimum", tiny))
        cases.append(("the header alone", sealed.prefix(header)))
        cases.append(("an extra byte at the end", sealed + [0]))
        for (what, value) in cases {
            #expect(throws: ThreadStoreError.unsealingFailed, "\(what)") {
                try Sealing.open(value, key: key, context: context)
            }
        }
        // Another row, column or key: the context binds every piece.
        let other = SealContext(table: "message", column: "body_sealed", threadID: "t", rowID: "s")
        #expect(throws: ThreadStoreError.unsealingFailed) { try Sealing.open(sealed, key: key, context: other) }
        #expect(throws: ThreadStoreError.unsealingFailed) {
            try Sealing.open(sealed, key: SymmetricKey(size: .bits256), context: context)
        }
    }

    /// A large value moved into another message's row does not open there.
    @Test func largeValueMovedToAnotherRowFailsToOpen() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let thread = try await store.write { tx in
            var first = Sample.message("m1", at: Date())
            first.body = Self.pattern(2 << 20, seed: 4)
            let thread = try tx.importMessage(first, into: .client(Sample.identity())).storedThread!
            var second = Sample.message("m2", at: Date())
            second.body = Self.pattern(2 << 20, seed: 5)
            _ = try tx.importMessage(second, into: .client(Sample.identity()))
            return thread
        }
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE message SET body_sealed = (SELECT body_sealed FROM message ORDER BY id LIMIT 1)")
        }
        await #expect(throws: ThreadStoreError.unsealingFailed) {
            try await store.read { tx in try tx.openThread(thread) }
        }
    }

    /// The database file holds no plaintext of a large body (a canary repeated through it).
    @Test func largeBodyIsNotStoredInClear() async throws {
        let fixture = try StoreFixture()
        defer { fixture.cleanUp() }
        let store = try fixture.open()
        let canary = "CANARY-LARGE-7f3a9c"
        var built = Sample.message("canary", at: Date())
        built.body = Array(String(repeating: canary + " ", count: (3 << 20) / (canary.count + 1)).utf8)
        let message = built
        _ = try await store.write { tx in try tx.importMessage(message, into: .client(Sample.identity())) }
        try store.close()
        for suffix in ["", "-wal"] {
            guard let bytes = FileManager.default.contents(atPath: fixture.databaseURL.path + suffix) else { continue }
            #expect(bytes.range(of: Data(canary.utf8)) == nil, "threads.sqlite\(suffix)")
        }
    }

    /// What one import of a 24 MiB body and an 18 MiB attachment costs at its peak, in a child process
    /// (`ThreadStoreCrashHelper --import-peak`): sealed whole and bound, SQLite alone took 64.9 MiB and the process
    /// grew by 137.6 MiB; in pieces 2.4 MiB and 6.8 MiB (2026-12-06).
    @Test func importingALargeMessageHoldsNoWholeCopy() throws {
        let fields = try CrashSafetyTests.measure(["--import-peak", "24", "18"], report: "import-peak")
        try #require(fields.count == 3)
        let sqlitePeak = try #require(Int(fields[0])), growth = try #require(Int(fields[1]))
        print("import of 24 + 18 MiB: SQLite's peak \(sqlitePeak) KiB, the process grew \(growth) KiB")
        #expect(fields[2] == "true", "what was stored opens to what was imported")
        // Less than the smaller of the two values: no whole copy of either was held.
        #expect(sqlitePeak < 8 << 10)
        #expect(growth < 16 << 10)
    }
}
