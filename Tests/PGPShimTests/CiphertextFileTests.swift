import Foundation
@testable import PGPShim
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 23: a PGP/MIME payload is decoded once into a private, unnamed ``CiphertextFile`` and gpg reads that
/// file; the armor decoder works in bounded chunks. These tests hold the decoder to the whole-body decoding it
/// replaced, the file to its promises (no name, mode 0600, nothing left, file-system failures transient), and
/// decryption from the file to the same verdicts and the same read-once property as decryption from memory.
@Suite struct CiphertextFileTests {
    // MARK: The chunked decoder gives what whole-body decoding gave

    /// The armor decoding before issue 23's chunks (CiphertextShape.binaryPackets at 636578b): all radix-64
    /// characters collected, then one `Data(base64Encoded:)`. The oracle for the chunked decoder.
    static func wholeBodyDecoding(_ message: [UInt8]) -> [UInt8]? {
        guard let first = message.first else { return nil }
        if first & 0x80 != 0 { return message }
        guard let bodyStart = CiphertextShape.armorBodyStart(message) else { return nil }
        var base64: [UInt8] = []
        var atLineStart = true
        var index = bodyStart
        scan: while index < message.count {
            let byte = message[index]
            index += 1
            switch byte {
            case 0x0A: atLineStart = true
            case 0x0D, 0x20, 0x09: continue
            case UInt8(ascii: "="), UInt8(ascii: "-"):
                if atLineStart { break scan }
                if byte == UInt8(ascii: "=") { base64.append(byte) }
                atLineStart = false
            default:
                if CiphertextShape.isBase64(byte) { base64.append(byte) }
                atLineStart = false
            }
        }
        return Data(base64Encoded: Data(base64)).map { Array($0) }
    }

    /// Armor around `body` (radix-64 text), with a checksum line and END line.
    static func armor(_ body: String, headers: String = "") -> [UInt8] {
        Array("-----BEGIN PGP MESSAGE-----\n\(headers)\n\(body)\n=AAAA\n-----END PGP MESSAGE-----\n".utf8)
    }

    static func lines(_ text: String, width: Int = 64) -> String {
        var lines: [Substring] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            lines.append(rest.prefix(width))
            rest = rest.dropFirst(width)
        }
        return lines.joined(separator: "\n")
    }

    /// Armor bodies around the chunk size (64 Ki characters), with padding, a `=` before the end (refused), junk
    /// characters, CRLF, two blocks, trailing data: the chunked decoder and the oracle agree on every one.
    @Test func chunkedDecodingMatchesWholeBodyDecoding() throws {
        var generator = SeededGenerator(seed: 23)
        let chunk = ArmorDecoder.chunkCharacters / 4 * 3  // octets per full chunk
        var inputs: [[UInt8]] = []
        for octets in [0, 1, 2, 3, 47, chunk - 1, chunk, chunk + 1, chunk + 2, 2 * chunk, 2 * chunk + 1, 200_000] {
            let bytes = (0..<octets).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Data(bytes).base64EncodedString()
            inputs.append(Self.armor(Self.lines(text)))
            inputs.append(Self.armor(Self.lines(text, width: 76).replacingOccurrences(of: "\n", with: "\r\n"),
                                     headers: "Version: x\r\nComment: y\r\n"))
            // Junk characters are skipped; a second block and trailing data are not read.
            inputs.append(Self.armor(Self.lines(text).replacingOccurrences(of: "A", with: "A*")) + Array("tail".utf8)
                          + Self.armor("QUFB"))
            // Padding moved before the end, at and around a chunk boundary: refused by both.
            for cut in [text.count / 2, ArmorDecoder.chunkCharacters - 1, ArmorDecoder.chunkCharacters,
                        ArmorDecoder.chunkCharacters + 1] where cut < text.count {
                var padded = text
                padded.insert(contentsOf: "==", at: padded.index(padded.startIndex, offsetBy: cut))
                inputs.append(Self.armor(Self.lines(padded)))
            }
            // Not whole groups.
            inputs.append(Self.armor(Self.lines(text + "Q")))
            inputs.append(Self.armor(Self.lines(String(text.dropLast(1)))))
        }
        inputs.append(Array("no armor here".utf8))
        inputs.append([])
        inputs.append([0x85, 0x01, 0x02, 0x03])
        inputs.append(Array("-----BEGIN PGP MESSAGE-----\nHeader: without end\nQUFB\n".utf8))
        for (index, input) in inputs.enumerated() {
            let expected = Self.wholeBodyDecoding(input)
            #expect(CiphertextShape.binaryPackets(input) == expected, "input \(index)")
            var pieces: [Int] = []
            var decoded: [UInt8] = []
            let readable = ArmorDecoder.decode(input) { (piece: UnsafeRawBufferPointer) throws(Never) in
                pieces.append(piece.count)
                decoded.append(contentsOf: piece)
            }
            #expect(readable == (expected != nil), "input \(index)")
            if readable { #expect(decoded == expected, "input \(index)") }
            #expect(pieces.allSatisfy { $0 <= ArmorDecoder.chunkCharacters }, "input \(index): a piece over the bound")
        }
    }

    // MARK: The file

    static func folder() throws -> URL {
        let folder = URL(filePath: "/tmp/mb-ctf-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The file holds exactly the decoded packets, has no name (its descriptor's link says "(deleted)", or it was
    /// made unnamed), is mode 0600, and leaves nothing in the folder, in both ways of making it.
    @Test(arguments: [true, false]) func theFileHoldsThePacketsAndHasNoName(unnamed: Bool) throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 7)
        let bytes = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let armored = Self.armor(Self.lines(Data(bytes).base64EncodedString()))
        let file = try CiphertextFile(decoding: armored, in: folder, limit: 1 << 20, unnamed: unnamed)
        #expect(file.isReadable)
        #expect(file.count == bytes.count)
        #expect(try file.read(0..<file.count) == bytes)
        #expect(try file.read(1000..<1010) == Array(bytes[1000..<1010]))
        #expect(throws: PGPError.self) { try file.read(0..<(file.count + 1)) }
        var status = stat()
        #expect(fstat(file.descriptor, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(status.st_nlink == 0, "the file has a name")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// Binary input is copied as it is; input that is neither binary nor armor gives an empty, unreadable file;
    /// empty and oversized input is refused before a file exists (as decryption from memory refuses it).
    @Test func binaryUnreadableEmptyAndOversizedInput() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let binary: [UInt8] = [0x85, 0x01, 0x02, 0x03, 0x04]
        let copied = try CiphertextFile(decoding: binary, in: folder, limit: 100)
        #expect(try copied.read(0..<copied.count) == binary)
        let unreadable = try CiphertextFile(decoding: Array("plain text".utf8), in: folder, limit: 100)
        #expect(!unreadable.isReadable && unreadable.count == 0)
        let broken = try CiphertextFile(decoding: Self.armor(String(repeating: "QUFB", count: 30_000) + "=QUFB"),
                                        in: folder, limit: 1 << 20)
        #expect(!broken.isReadable && broken.count == 0)
        #expect(throws: PGPError.invalidInput) { try CiphertextFile(decoding: [], in: folder, limit: 100) }
        #expect(throws: PGPError.invalidInput) { try CiphertextFile(decoding: binary, in: folder, limit: 4) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// A folder that does not exist or cannot be written is a transient failure (the message stays in the spool
    /// and is tried again), as a full disk is: nothing is decided about the message, nothing is left.
    @Test func fileSystemFailuresAreTransient() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let binary: [UInt8] = [0x85, 0x01, 0x02]
        #expect(throws: PGPError.transient) {
            try CiphertextFile(decoding: binary, in: folder.appending(path: "missing"), limit: 100)
        }
        for unnamed in [true, false] {
            #expect(throws: PGPError.transient) {
                try CiphertextFile(decoding: binary, in: folder.appending(path: "missing"), limit: 100,
                                   unnamed: unnamed)
            }
        }
    }

    /// A full disk: a 1 MiB tmpfs (root only; skipped otherwise) takes the first MiB and the write after it fails
    /// with ENOSPC, which is transient; the descriptor is closed and the space comes back.
    @Test func aFullDiskIsTransient() throws {
        guard geteuid() == 0 else { return }
        let folder = try Self.folder()
        defer {
            _ = try? Shell.run("umount", [folder.path], allowFailure: true)
            try? FileManager.default.removeItem(at: folder)
        }
        guard (try? Shell.run("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", folder.path])) != nil
        else { return }
        let large = [UInt8](repeating: 0x85, count: 3 << 20)
        for unnamed in [true, false] {
            #expect(throws: PGPError.transient) {
                try CiphertextFile(decoding: large, in: folder, limit: 4 << 20, unnamed: unnamed)
            }
        }
        // The space is free again: a small file fits.
        let small = try CiphertextFile(decoding: [0x85, 0x01, 0x00], in: folder, limit: 100)
        #expect(small.count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// What a crash leaves of the named fallback is removed at start; other files stay, and a symlink with the
    /// prefix is removed itself, its target untouched.
    @Test func leftoversAreRemovedAndSymlinksNotFollowed() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appending(path: "target.eml")
        try Data("keep".utf8).write(to: target)
        try Data("x".utf8).write(to: folder.appending(path: CiphertextFile.fallbackPrefix + "0123456789abcdef"))
        try FileManager.default.createSymbolicLink(
            at: folder.appending(path: CiphertextFile.fallbackPrefix + "fedcba9876543210"), withDestinationURL: target)
        #expect(CiphertextFile.removeLeftovers(in: folder) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["target.eml"])
        #expect(try Data(contentsOf: target) == Data("keep".utf8))
    }

    /// The read callback gives the ranges one after the other, from any position gpgme seeks to.
    @Test func rangeReaderReadsRangesInOrder() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bytes = (0..<200).map { UInt8($0) } + [0x80]
        let file = try CiphertextFile(decoding: [0x85] + bytes, in: folder, limit: 1000)
        let reader = RangeReader(file: file, ranges: [0..<10, 50..<60, 100..<201])
        #expect(reader.count == 121)
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 7)
        while true {
            let got = buffer.withUnsafeMutableBytes { reader.read(into: $0.baseAddress!, 7) }
            #expect(got >= 0)
            if got <= 0 { break }
            collected += buffer[0..<got]
        }
        let all = [0x85] + bytes
        #expect(collected == Array(all[0..<10] + all[50..<60] + all[100..<201]))
        #expect(reader.seek(12, SEEK_SET) == 12)
        let got = buffer.withUnsafeMutableBytes { reader.read(into: $0.baseAddress!, 7) }
        #expect(Array(buffer[0..<got]) == Array(all[52..<(52 + got)]))
        #expect(reader.seek(-1, SEEK_END) == 120)
        #expect(reader.seek(-200, SEEK_CUR) == -1)
    }

    // MARK: Decryption from the file

    /// Small (in-process unwrap) and large (second gpg run) signed messages, armored and binary, decrypt from the
    /// file to what they decrypt to from memory; a damaged armor checksum, which gpg refuses when it reads the armor
    /// itself, decrypts from the file with one gpg run: gpg read the octets PGPShim decoded (ArmorReadOnceTests).
    @Test func decryptingFromTheFileGivesTheSameOutcome() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("file@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let limit = fixture.service.configuration.maximumInputBytes
        var generator = SeededGenerator(seed: 5)
        for (octets, binary) in [(2000, false), (2000, true), (3 << 20, false)] {
            let text = (0..<octets).map { _ in UInt8.random(in: 0x61...0x7A, using: &generator) }
            var arguments = ["--sign", "--local-user", client.hex, "--encrypt", "--recipient", gateway.hex,
                             "--compress-algo", "none"]
            if !binary { arguments.insert("--armor", at: 0) }
            let ciphertext = try fixture.clientGPG(arguments, stdin: text).stdout
            let file = try CiphertextFile(decoding: ciphertext, in: folder, limit: limit)
            let fromFile = try #require(try await fixture.service.decryptAndVerify(file, forKeys: [gateway]).message)
            let fromMemory = try #require(try await fixture.service.decryptAndVerify(ciphertext, forKeys: [gateway])
                .message)
            #expect(fromFile.plaintext.bytes == text)
            #expect(fromFile.signature == .good(signer: client))
            #expect(fromFile.signature == fromMemory.signature)
            #expect(fromFile.intendedRecipients == fromMemory.intendedRecipients)
            #expect(fromFile.engineRuns == fromMemory.engineRuns)
            #expect(fromFile.engineRuns == (octets > InProcessUnwrap.maximumMessageBytes ? 2 : 1))
            #expect(fromFile.sessionKey?.material == fromMemory.sessionKey?.material)
        }

        let canary = "CANARY-file-\(UUID().uuidString.prefix(8))"
        let armored = try fixture.clientGPG(["--armor", "--sign", "--local-user", client.hex, "--encrypt",
                                             "--recipient", gateway.hex], stdin: Array(canary.utf8)).stdout.text
        var lines = armored.components(separatedBy: "\n")
        let checksum = try #require(lines.firstIndex { $0.hasPrefix("=") && $0.count == 5 })
        lines[checksum] = lines[checksum] == "=AAAA" ? "=BBBB" : "=AAAA"
        let damaged = Array(lines.joined(separator: "\n").utf8)
        #expect(try fixture.clientGPG(["--dearmor"], stdin: damaged, allowFailure: true).status != 0)
        let file = try CiphertextFile(decoding: damaged, in: folder, limit: limit)
        let message = try #require(try await fixture.service.decryptAndVerify(file).message)
        #expect(message.plaintext.bytes.text == canary)
        #expect(message.engineRuns == 1)

        // A second armor block after the first (another message) is not read: the first one decrypts.
        let other = try fixture.clientGPG(["--armor", "--encrypt", "--recipient", gateway.hex],
                                          stdin: Array("other".utf8)).stdout
        let twoBlocks = try CiphertextFile(decoding: Array(armored.utf8) + Array("trailing\n".utf8) + other,
                                           in: folder, limit: limit)
        #expect(try await fixture.service.decryptAndVerify(twoBlocks).message?.plaintext.bytes.text == canary)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        await fixture.close()
    }

    /// Refusals before gpg runs are the same from the file: unreadable input, a signed-only message, and a
    /// message encrypted to two of our keys decrypts only with the allowed one (its other key packet left out of
    /// the ranges gpg reads), which is "not for us" when only the other key is allowed.
    @Test func refusalsAndKeyPacketFilteringFromTheFile() async throws {
        let fixture = try GnuPGFixture()
        let first = try await fixture.makeGatewayKey("beratung@example.org")
        let second = try await fixture.makeGatewayKey("jugend@example.org")
        let client = try fixture.makeClientKey("two@example.net")
        try await fixture.exchangeKeys(gateway: first, client: client)
        try fixture.clientGPG(["--import"], stdin: try await fixture.service.exportPublicKey(second))
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let limit = fixture.service.configuration.maximumInputBytes

        let unreadable = try CiphertextFile(decoding: Array("-----BEGIN PGP MESSAGE-----\n\n!!!\n".utf8),
                                            in: folder, limit: limit)
        #expect(try await fixture.service.decryptAndVerify(unreadable).failure == .corrupted)
        let signedOnly = try fixture.clientGPG(["--armor", "--sign", "--local-user", client.hex],
                                               stdin: Array("signed".utf8)).stdout
        let signedFile = try CiphertextFile(decoding: signedOnly, in: folder, limit: limit)
        #expect(try await fixture.service.decryptAndVerify(signedFile).failure == .notEncrypted)

        let canary = "CANARY-two-\(UUID().uuidString.prefix(8))"
        // Second key first: gpg would try it first if its packet were left in.
        let both = try fixture.clientGPG(["--armor", "--encrypt", "--recipient", second.hex, "--recipient", first.hex],
                                         stdin: Array(canary.utf8)).stdout
        let file = try CiphertextFile(decoding: both, in: folder, limit: limit)
        let outcome = try await fixture.service.decryptAndVerify(file, forKeys: [first])
        #expect(outcome.message?.decryptionKey == first)
        #expect(outcome.message?.plaintext.bytes.text == canary)
        let memory = try await fixture.service.decryptAndVerify(both, forKeys: [first])
        #expect(memory.message?.decryptionKey == first)
        await fixture.close()
    }
}
