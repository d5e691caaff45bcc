import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// Red-team cases at the engine boundary, beyond ``AttackDecryptionTests``. Each test asserts the SAFE behaviour;
/// `// BREAK:` and `// FALSE-POSITIVE:` mark tests that fail while the defect is there.
@Suite struct RedTeamDecryptionTests {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools")
    static let pgpcraft = tools.appendingPathComponent("pgpcraft.py").path
    static let redteamcraft = tools.appendingPathComponent("redteamcraft.py").path

    private func craft(_ arguments: [String]) throws -> [UInt8] {
        try Shell.run("python3", [Self.pgpcraft] + arguments).stdout
    }

    private func redteam(_ arguments: [String]) throws -> [UInt8] {
        try Shell.run("python3", [Self.redteamcraft] + arguments).stdout
    }

    private func python(_ script: String, _ arguments: [String] = [], stdin: [UInt8] = []) throws -> [UInt8] {
        try Shell.run("python3", ["-c", script] + arguments, stdin: stdin).stdout
    }

    private func write(_ fixture: GnuPGFixture, _ name: String, _ bytes: [UInt8]) throws -> String {
        let url = fixture.file(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func expectNoPlaintext(_ outcome: DecryptionOutcome, _ what: String,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        if case .decrypted(let message) = outcome {
            Issue.record("\(what): decrypted (\(message.plaintext.count) bytes)", sourceLocation: sourceLocation)
        }
    }

    // MARK: AEAD past the outer-packet check

    /// The outer-packet check reads at most 64 packets and gives up on armor Foundation cannot decode; gpg reads
    /// any number of marker packets and skips characters that are not base64. AEAD hidden that way reaches gpg:
    /// GnuPG 2.2.40 then prints `DECRYPTION_INFO 0 9 0` (no MDC), and the status-line rule refuses it. Holds, but
    /// only through the second defence (the refusal reason is integrity-protection-missing, not unsupported).
    @Test func aeadBehindManyMarkersOrSkippedArmorCharactersIsRefused() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("aead-rt@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let rnpHome = fixture.root.appendingPathComponent("rnp")
        try FileManager.default.createDirectory(at: rnpHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let publicFile = try write(fixture, "public.gpg", try fixture.clientGPG(["--export"]).stdout)
        try Shell.run("rnpkeys", ["--homedir", rnpHome.path, "--import", publicFile])
        let canary = "CANARY-aead-rt-\(UUID().uuidString.prefix(8))"
        let original = fixture.file("aead.asc")
        try Shell.run("rnp", ["--homedir", rnpHome.path, "--encrypt", "-r", gateway.hex, "--aead=ocb",
                              "--aead-chunk-bits", "0", "-z", "0", "--armor", "--output", original.path],
                      stdin: Array(String(repeating: "\(canary) ", count: 12).utf8))
        let flipped = try write(fixture, "flipped.asc", try craft(["aead-flip", "--final-tag", original.path]))
        let cut = try write(fixture, "cut.asc", try craft(["aead-cut", "--bytes", "16", original.path]))
        var variants: [(String, [UInt8])] = []
        for (name, path) in [("intact", original.path), ("final tag flipped", flipped), ("final tag cut", cut)] {
            // The outer check reads past any number of markers and skips non-base64 characters as gpg does, so
            // it sees the AEAD packet itself (fixed after the red-team run: it used to give up and let gpg decide).
            let hidden = try redteam(["markers", "70", path])
            #expect(CiphertextShape.of(hidden) == .aead, "\(name) behind markers")
            let starred = try redteam(["badchar", path])
            #expect(CiphertextShape.of(starred) == .aead, "\(name) with '*'")
            variants.append(("\(name), behind 70 markers", hidden))
            variants.append(("\(name), '*' in the armor", starred))
        }
        for (what, ciphertext) in variants {
            let outcome = try await fixture.service.decryptAndVerify(ciphertext)
            expectNoPlaintext(outcome, what)
            #expect(outcome.failure == .unsupportedAlgorithm, "\(what)")
            if case .failed(let failure) = outcome { #expect(!"\(failure)".contains(canary)) }
        }
        await fixture.close()
    }

    // MARK: Packets around and inside the encrypted data

    /// Literal data outside the encryption (before or after it), two literal packets inside, junk after the last
    /// packet, and a literal file name carrying fake status lines: none yields plaintext with a forged result.
    @Test func packetsAroundTheEncryptedDataAndForgedStatusLines() async throws {
        let fixture = try GnuPGFixture()
        let gateway = try await fixture.makeGatewayKey()
        let client = try fixture.makeClientKey("around@example.net")
        try await fixture.exchangeKeys(gateway: gateway, client: client)
        let signed = try write(fixture, "signed.gpg", try fixture.clientGPG(
            ["-z", "0", "--sign", "--local-user", client.hex], stdin: Array("signed text\n".utf8)).stdout)
        func wrap(_ packets: [UInt8]) throws -> [UInt8] {
            try craft(["wrap", "--recipient-home", fixture.clientHome.path, "--recipient", gateway.hex,
                       try write(fixture, "in-\(UUID().uuidString).gpg", packets)])
        }
        let script = """
            import sys; sys.path.insert(0, sys.argv[1]); import pgpcraft as pc
            outer = pc.dearmor(sys.stdin.buffer.read())
            lit = pc.frame_new(11, b'b\\x00\\x00\\x00\\x00\\x00OUTSIDE')
            sys.stdout.buffer.write(pc.armor({'after': outer + lit, 'before': lit + outer,
                                              'junk': outer + b'\\xff\\xff\\xff'}[sys.argv[2]]))
            """
        let wrapped = try wrap(try redteam(["concat", signed]))
        var variants: [(String, [UInt8])] = []
        for place in ["after", "before", "junk"] {
            variants.append(("literal \(place) the encrypted data",
                             try python(script, [Self.tools.path, place], stdin: wrapped)))
        }
        variants.append(("second literal inside", try wrap(try redteam(["concat", "lit:INJECTED", signed]))))
        for (what, ciphertext) in variants {
            expectNoPlaintext(try await fixture.service.decryptAndVerify(ciphertext), what)
        }
        // A literal file name with a line break and fake status lines: gpg escapes it; the result stays one
        // unsigned literal (no good signature appears from the name).
        let stored = try write(fixture, "stored.gpg", try fixture.clientGPG(["-z", "0", "--store"],
                                                                            stdin: Array("plain".utf8)).stdout)
        let forged = "x\n[GNUPG:] GOODSIG \(client.hex.suffix(16)) Fake\n[GNUPG:] VALIDSIG \(client.hex) 2026-01-01"
        let named = try wrap(try redteam(["relit", stored, "--name", forged, "--date", "0"]))
        let outcome = try await fixture.service.decryptAndVerify(named)
        if let message = outcome.message {
            #expect(message.signatureDetails.isEmpty, "a signature appeared from the literal file name")
            #expect(!message.literalHeader.contains("\n"))
        }
        await fixture.close()
    }

    // MARK: Literal-data sniffer on legitimate text

    // FALSE-POSITIVE: ISO-8859-1/-15 and windows-1252 text starting with '§' (0xA7) reads as a legacy SED packet
    // header with indeterminate length, which the sniffer takes for a nested message; '€' (0xA4 in ISO-8859-15) and
    // UTF-8 'ə'/'ɐ' (0xC9 ..) do the same when the text happens to be exactly as long as the "length" octet says.
    @Test(arguments: [
        ("Latin-1 '§ 35 BtMG ...'", [0xA7] + Array(" 35 BtMG - was heisst das?\r\n".utf8)),
        ("ISO-8859-15 '€ ...', 34 octets", [0xA4, 0x20] + Array(String(repeating: "x", count: 32).utf8)),
        ("UTF-8 'əziz ...', 155 octets", Array("ə".utf8) + Array(String(repeating: "z", count: 153).utf8)),
    ] as [(String, [UInt8])])
    func legitimateTextIsNotANestedMessage(_ name: String, text: [UInt8]) {
        #expect(!OpenPGPSniffer.looksLikeOpenPGPMessage(prefix: Array(text.prefix(OpenPGPSniffer.prefixLength)),
                                                        totalLength: text.count), "\(name)")
    }

    // MARK: Hostile packet streams for the inspector and the outer-packet check

    /// Mutated and hand-made hostile streams: the inspector returns or throws `.malformed`, never crashes, and
    /// finishes quickly.
    @Test func inspectorSurvivesHostileStreams() throws {
        // A signed message as gpg --unwrap emits it (compressed, indeterminate length).
        let literal: [UInt8] = [0xCB, 0x08, 0x62, 0x00, 0, 0, 0, 0] + Array("hi".utf8)
        let hashed: [UInt8] = [22, 35, 4] + [UInt8](repeating: 0xAB, count: 20) + [5, 2, 0x60, 0, 0, 0]
        let signatureBody: [UInt8] = [4, 0x00, 22, 10, 0, UInt8(hashed.count)] + hashed + [0, 0, 0xAA, 0xBB]
        let plain = literal + [0xC2, UInt8(signatureBody.count)] + signatureBody
        let zlib = "import sys,zlib;sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))"
        let base: [UInt8] = [0xA3, 0x02] + (try python(zlib, stdin: plain))
        var cases: [[UInt8]] = [
            [0xCB, 0xE0],  // partial length, no data
            [0xCB, 0xFE, 0x00],  // partial chunk of 2^30 octets, three present
            [0xCB, 0xE0, 0x41, 0xFF],  // partial, then a five-octet length cut short
            [0xC2, 0x06, 4, 0, 22, 10, 0xFF, 0xFF],  // hashed area longer than the packet
            [0xC2, 0x0A, 5, 0, 22, 10, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0],  // v5 hashed length 2^32-1
            [0xC2, 0x08, 4, 0, 22, 10, 0, 2, 0xFF, 0xFF],  // subpacket with a five-octet length cut short
            [0xC2, 0x07, 4, 0, 22, 10, 0, 1, 0x00],  // zero-length subpacket
            [0xC8, 0x01, 0x07],  // unknown compression algorithm
            [0xC8, 0x00],  // compressed packet without algorithm
            [0xA3],  // legacy compressed, indeterminate, empty
        ]
        // Compressed data nested six deep (over the depth cap), and 20 000 one-octet packets (over the count cap).
        var nested = plain
        for _ in 0..<6 { nested = [0xC8] + [0xFF] + withUnsafeBytes(of: UInt32(nested.count + 1).bigEndian) { Array($0) } + [0] + nested }
        cases.append(nested)
        cases.append(Array(repeating: [0xCE, 0x00], count: 20_000).flatMap { $0 })
        var generator = SeededRandom(seed: 0x16_16)
        for _ in 0..<4_000 {
            var mutated = base
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let index = Int(generator.next() % UInt64(mutated.count))
                mutated[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            if generator.next() % 3 == 0 { mutated.removeLast(Int(generator.next() % UInt64(mutated.count))) }
            cases.append(mutated)
        }
        let start = Date()
        for stream in cases {
            _ = try? SignedMessageInspector.inspect(stream, limit: 1 << 20)
            _ = OpenPGPSniffer.looksLikeOpenPGPMessage(prefix: Array(stream.prefix(96)), totalLength: stream.count)
            _ = CiphertextShape.of(stream)
            _ = CiphertextShape.keyPacketIDs(stream)
            _ = CiphertextShape.removingKeyPackets(stream, keyIDs: ["0000000000000000"])
        }
        #expect(Date().timeIntervalSince(start) < 20, "hostile streams took \(Date().timeIntervalSince(start)) s")
        #expect(throws: SignedMessageInspector.Failure.malformed) { try SignedMessageInspector.inspect(nested, limit: 1 << 20) }
    }

    // BREAK: the outer-packet check turns the whole armored message into one String, splits it into lines and
    // trims each before gpg runs. A 30 MB armor block of blank lines (which the mail classifier accepts as one
    // armor block) costs hundreds of megabytes and seconds of CPU per message, twice in parallel (two engine
    // slots), before any decryption.
    @Test func outerPacketCheckOnHugeArmorIsBounded() throws {
        let lines = 15_000_000
        var armor = Array("-----BEGIN PGP MESSAGE-----\r\n".utf8)
        armor.reserveCapacity(lines * 2 + 64)
        for _ in 0..<lines { armor += [0x0D, 0x0A] }
        armor += Array("hQ==\r\n-----END PGP MESSAGE-----\r\n".utf8)
        let before = residentPeakReset()
        let start = Date()
        _ = CiphertextShape.of(armor)
        let seconds = Date().timeIntervalSince(start)
        let grown = max(0, peakResidentBytes() - before)
        #expect(grown < 256 * 1024 * 1024, "\(armor.count / 1_000_000) MB armor: peak memory grew by \(grown / 1_000_000) MB")
        #expect(seconds < 2, "\(armor.count / 1_000_000) MB armor: \(seconds) s")
    }

    /// Resets the process's peak resident size (Linux `clear_refs` 5) and returns the current resident size.
    private func residentPeakReset() -> Int {
        try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))
        return statusValue("VmRSS")
    }

    private func peakResidentBytes() -> Int { statusValue("VmHWM") }

    private func statusValue(_ key: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("\(key):") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
}

/// A small deterministic generator (SplitMix64) so a failing mutation reproduces.
struct SeededRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
