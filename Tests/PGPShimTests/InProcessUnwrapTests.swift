import Foundation
@testable import PGPShim
import TestSupport
import Testing

/// Issue 23: a signed message is decrypted by one gpg run; its signature packets are read from an in-process
/// unwrap with the session key gpg exported (`engineRuns == 1`), and they read the same as from gpg's own
/// `--decrypt --unwrap` output (the fallback path), for messages from gpg, sq, sqop and rnp.
@Suite struct InProcessUnwrapTests {
    static let pgpcraft = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/pgpcraft.py").path

    /// A gateway key, a gpg client key both sides know, and the client's secret key as a file for sq and sqop.
    struct Parties {
        let fixture: GnuPGFixture
        let gateway: KeyFingerprint
        let client: KeyFingerprint

        init(_ address: String, maximumPlaintextBytes: Int = 8 * 1024 * 1024) async throws {
            fixture = try GnuPGFixture(maximumPlaintextBytes: maximumPlaintextBytes)
            gateway = try await fixture.makeGatewayKey()
            client = try fixture.makeClientKey(address)
            try await fixture.exchangeKeys(gateway: gateway, client: client)
        }

        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = fixture.file(name)
            try Data(bytes).write(to: url)
            return url.path
        }

        func clientSecretKey() throws -> String {
            try file("client.key", try fixture.clientGPG(["--export-secret-keys", client.hex]).stdout)
        }

        func gatewayCert() async throws -> String {
            try file("gateway.cert", try await fixture.service.exportPublicKey(gateway, armored: false))
        }

        func sq(_ arguments: [String], stdin: [UInt8]) throws -> [UInt8] {
            try Shell.run("sq", arguments, stdin: stdin,
                          environment: ["SEQUOIA_HOME": fixture.root.appendingPathComponent("sq").path]).stdout
        }

        func rnp(_ arguments: [String], stdin: [UInt8]) throws -> [UInt8] {
            let home = fixture.root.appendingPathComponent("rnp")
            if !FileManager.default.fileExists(atPath: home.path) {
                try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
                let publics = try file("rnp-public.gpg", try fixture.clientGPG(["--export"]).stdout)
                let secret = try file("rnp-secret.gpg",
                                      try fixture.clientGPG(["--export-secret-keys", client.hex]).stdout)
                try Shell.run("rnpkeys", ["--homedir", home.path, "--import", publics])
                try Shell.run("rnpkeys", ["--homedir", home.path, "--import", secret])
            }
            return try Shell.run("rnp", ["--homedir", home.path, "--password", ""] + arguments, stdin: stdin).stdout
        }

        /// What the fallback path reads: gpg's own `--decrypt --unwrap` output, through the same inspector.
        func inspectionByGPGUnwrap(_ ciphertext: [UInt8]) throws -> SignedMessageInspection {
            let unwrapped = try Shell.run("gpg", ["--homedir", fixture.gatewayHome.path, "--batch", "--no-tty",
                                                  "--pinentry-mode", "loopback", "--passphrase", "", "--decrypt",
                                                  "--unwrap"], stdin: ciphertext).stdout
            return try SignedMessageInspector.inspect(unwrapped, limit: 1 << 24)
        }
    }

    enum Producer: String, CaseIterable, CustomTestStringConvertible {
        case gpgAES128Uncompressed, gpgAES128Zip, gpgAES256Zlib, gpgAES256BZip2, gpgAES256TextModeArmored
        case rnpAES128Zip, rnpAES256Zlib, rnpAES256BZip2, rnpAES128Uncompressed
        case sqopDefault, sqWithIntendedRecipient, sqWithIntendedRecipientZip
        var testDescription: String { rawValue }
        /// sq writes Intended Recipient Fingerprints; gpg, rnp and sqop do not.
        var namesRecipients: Bool { self == .sqWithIntendedRecipient || self == .sqWithIntendedRecipientZip }
    }

    private func encrypt(_ producer: Producer, _ parties: Parties, _ plaintext: [UInt8]) async throws -> [UInt8] {
        let gpgBase = ["--sign", "--local-user", parties.client.hex, "--encrypt", "--recipient", parties.gateway.hex]
        let rnpBase = ["--encrypt", "--sign", "-u", parties.client.hex, "-r", parties.gateway.hex]
        switch producer {
        case .gpgAES128Uncompressed:
            return try parties.fixture.clientGPG(["--cipher-algo", "AES", "--compress-algo", "none"] + gpgBase,
                                                 stdin: plaintext).stdout
        case .gpgAES128Zip:
            return try parties.fixture.clientGPG(["--cipher-algo", "AES", "--compress-algo", "zip"] + gpgBase,
                                                 stdin: plaintext).stdout
        case .gpgAES256Zlib:
            return try parties.fixture.clientGPG(["--cipher-algo", "AES256", "--compress-algo", "zlib"] + gpgBase,
                                                 stdin: plaintext).stdout
        case .gpgAES256BZip2:
            return try parties.fixture.clientGPG(["--cipher-algo", "AES256", "--compress-algo", "bzip2"] + gpgBase,
                                                 stdin: plaintext).stdout
        case .gpgAES256TextModeArmored:
            return try parties.fixture.clientGPG(["--armor", "--textmode", "--cipher-algo", "AES256"] + gpgBase,
                                                 stdin: plaintext).stdout
        case .rnpAES128Zip:
            return try parties.rnp(rnpBase + ["--cipher", "AES128", "--zip", "-z", "6"], stdin: plaintext)
        case .rnpAES256Zlib:
            return try parties.rnp(rnpBase + ["--cipher", "AES256", "--zlib", "-z", "6", "--armor"], stdin: plaintext)
        case .rnpAES256BZip2:
            return try parties.rnp(rnpBase + ["--cipher", "AES256", "--bzip", "-z", "6"], stdin: plaintext)
        case .rnpAES128Uncompressed:
            return try parties.rnp(rnpBase + ["--cipher", "AES128", "-z", "0"], stdin: plaintext)
        case .sqopDefault:
            return try Shell.run("sqop", ["encrypt", "--sign-with=\(try parties.clientSecretKey())",
                                          try await parties.gatewayCert()], stdin: plaintext).stdout
        case .sqWithIntendedRecipient, .sqWithIntendedRecipientZip:
            let compression = producer == .sqWithIntendedRecipientZip ? ["--compression", "zip"] : []
            return try parties.sq(["encrypt", "--recipient-cert", try await parties.gatewayCert(),
                                   "--signer-key", try parties.clientSecretKey()] + compression, stdin: plaintext)
        }
    }

    @Test(arguments: Producer.allCases)
    func signedMessageIsUnwrappedInProcessWithTheFallbacksVerdict(producer: Producer) async throws {
        let parties = try await Parties("unwrap@example.net")
        let canary = "CANARY-unwrap-\(UUID().uuidString.prefix(8))"
        // Text with CRLF line ends (gpg's text mode writes them; gpg drops the CRs on output) and enough of it
        // for compression to matter.
        let text = (0..<40).map { "\(canary) line \($0)\r\n" }.joined()
        let ciphertext = try await encrypt(producer, parties, Array(text.utf8))
        let message = try #require(try await parties.fixture.service.decryptAndVerify(ciphertext).message,
                                   "\(producer) did not decrypt")
        let expected = producer == .gpgAES256TextModeArmored ? text.replacingOccurrences(of: "\r", with: "") : text
        #expect(message.plaintext.bytes.text == expected)
        #expect(message.signature == .good(signer: parties.client))
        // One gpg start: the signature packets came from the in-process unwrap.
        #expect(message.engineRuns == 1, "\(producer): \(message.engineRuns) gpg runs")
        // The same packets as gpg's own unwrap (the fallback) reads, so the same verdict.
        let fallback = try parties.inspectionByGPGUnwrap(ciphertext)
        guard case .unwrapped(var inner) = InProcessUnwrap.unwrap(ciphertext, sessionKey: message.sessionKey) else {
            Issue.record("\(producer): not unwrapped in-process")
            return
        }
        defer { InProcessUnwrap.wipe(&inner) }
        #expect(try SignedMessageInspector.inspect(inner, limit: 1 << 24) == fallback)
        let fallbackLists = fallback.signatures.map(\.intendedRecipients).filter { !$0.isEmpty }
        #expect(message.intendedRecipients == (fallbackLists.isEmpty ? .none : .named(fallbackLists)))
        #expect(message.intendedRecipients.admit(parties.gateway))
        if producer.namesRecipients {
            #expect(message.intendedRecipients == .named([[parties.gateway.hex]]))
        } else {
            #expect(message.intendedRecipients == IntendedRecipients.none)
        }
        #expect(!"\(message)".contains(canary))
        await parties.fixture.close()
    }

    /// Ciphers other than AES are not this path's: the second gpg run reads the packets, with the same verdict.
    @Test(arguments: ["TWOFISH", "CAMELLIA256"])
    func otherCiphersFallBackToTheSecondGPGRun(cipher: String) async throws {
        let parties = try await Parties("fallback@example.net")
        let canary = "CANARY-fallback-\(UUID().uuidString.prefix(8))"
        let ciphertext = try parties.fixture.clientGPG(["--cipher-algo", cipher, "--sign", "--local-user",
                                                        parties.client.hex, "--encrypt", "--recipient",
                                                        parties.gateway.hex], stdin: Array(canary.utf8)).stdout
        let message = try #require(try await parties.fixture.service.decryptAndVerify(ciphertext).message)
        #expect(message.plaintext.bytes.text == canary)
        #expect(message.signature == .good(signer: parties.client))
        #expect(message.engineRuns == 2)
        #expect(InProcessUnwrap.unwrap(ciphertext, sessionKey: message.sessionKey).isNotHandled)
        #expect(message.intendedRecipients == IntendedRecipients.none)
        await parties.fixture.close()
    }

    /// A message signed by the client for someone else (sq names Bob as intended recipient), decrypted by Bob and
    /// re-encrypted to the gateway: read in-process, and its Intended Recipient Fingerprint still refuses it.
    @Test func signatureForAnotherRecipientIsStillRefused() async throws {
        let parties = try await Parties("irf@example.net")
        let bob = try parties.fixture.makeClientKey("bob@elsewhere.example")
        let bobCert = try parties.file("bob.cert", try parties.fixture.clientGPG(["--export", bob.hex]).stdout)
        let canary = "CANARY-irf-\(UUID().uuidString.prefix(8))"
        let forBob = try parties.sq(["encrypt", "--recipient-cert", bobCert, "--signer-key",
                                     try parties.clientSecretKey()], stdin: Array(canary.utf8))
        let unwrapped = try parties.fixture.clientGPG(["--decrypt", "--unwrap"], stdin: forBob).stdout
        let forwarded = try Shell.run("python3", [Self.pgpcraft, "wrap", "--recipient-home",
                                                  parties.fixture.clientHome.path, "--recipient", parties.gateway.hex,
                                                  try parties.file("unwrapped.gpg", unwrapped)]).stdout
        let message = try #require(try await parties.fixture.service.decryptAndVerify(forwarded).message)
        #expect(message.signature == .good(signer: parties.client))
        #expect(message.engineRuns == 1)
        #expect(message.intendedRecipients == .named([[bob.hex]]))
        #expect(!message.intendedRecipients.admit(parties.gateway))
        await parties.fixture.close()
    }

    /// A signed message whose compressed data inflates past the plaintext cap: no plaintext, by either path.
    @Test func compressionBombInsideIsRefused() async throws {
        let parties = try await Parties("bomb@example.net", maximumPlaintextBytes: 256 * 1024)
        let zeros = [UInt8](repeating: 0x30, count: 4 * 1024 * 1024)
        let ciphertext = try parties.fixture.clientGPG(["--compress-algo", "zlib", "--sign", "--local-user",
                                                        parties.client.hex, "--encrypt", "--recipient",
                                                        parties.gateway.hex], stdin: zeros).stdout
        #expect(ciphertext.count < 256 * 1024)
        let outcome = try await parties.fixture.service.decryptAndVerify(ciphertext)
        #expect(outcome.message == nil)
        #expect(outcome.failure == .plaintextTooLarge(limit: 256 * 1024))
        await parties.fixture.close()
    }

    /// Tampered SEIPD packets, unwrapped with the real session key: every change to the encrypted octets, the
    /// MDC or the length is a failure (never a result), and through the whole decryption none yields plaintext.
    @Test func tamperedPacketsFailWithTheRightSessionKey() async throws {
        let parties = try await Parties("tamper@example.net")
        let canary = "CANARY-tamper-\(UUID().uuidString.prefix(8))"
        let ciphertext = try parties.fixture.clientGPG(["--compress-algo", "none", "--sign", "--local-user",
                                                        parties.client.hex, "--encrypt", "--recipient",
                                                        parties.gateway.hex],
                                                       stdin: Array(String(repeating: canary, count: 8).utf8)).stdout
        let message = try #require(try await parties.fixture.service.decryptAndVerify(ciphertext).message)
        #expect(message.engineRuns == 1)
        let sessionKey = try #require(message.sessionKey)
        let outer = try #require(OuterPackets(ciphertext))
        let leading = Array(outer.binary[..<(outer.leading.last?.end ?? 0)])
        let body = try #require(InProcessUnwrap.seipdBody(outer))
        func framed(_ encrypted: [UInt8], version: UInt8 = 1) -> [UInt8] {
            let length = UInt32(encrypted.count + 1)
            let header: [UInt8] = [0xD2, 0xFF] + withUnsafeBytes(of: length.bigEndian, Array.init) + [version]
            return leading + header + encrypted
        }
        func flipped(_ index: Int) -> [UInt8] {
            var copy = body
            copy[index] ^= 0x01
            return copy
        }
        // The intact packet, framed with a definite length, unwraps.
        #expect(InProcessUnwrap.unwrap(framed(body), sessionKey: sessionKey).isUnwrapped)

        let failing: [(String, [UInt8])] = [
            ("flipped prefix octet", framed(flipped(3))),
            ("flipped quick-check octet", framed(flipped(17))),
            ("flipped body octet", framed(flipped(body.count / 2))),
            ("flipped last inner octet", framed(flipped(body.count - 23))),
            ("flipped MDC header", framed(flipped(body.count - 22))),
            ("flipped MDC digest", framed(flipped(body.count - 1))),
            ("MDC removed", framed(Array(body.dropLast(22)))),
            ("truncated by one octet", framed(Array(body.dropLast()))),
            ("truncated to half", framed(Array(body.prefix(body.count / 2)))),
            ("truncated below prefix + MDC", framed(Array(body.prefix(39)))),
            ("extra octets after the MDC", framed(body + [0x00, 0x01, 0x02, 0x03])),
            ("a second MDC after the MDC", framed(body + Array(body.suffix(22)))),
        ]
        for (name, variant) in failing {
            #expect(InProcessUnwrap.unwrap(variant, sessionKey: sessionKey).isFailed, "\(name)")
            // A run gpg could not finish may be thrown as transient; either way there is no plaintext.
            let outcome = try? await parties.fixture.service.decryptAndVerify(variant)
            #expect(outcome?.message == nil, "\(name): decrypted")
            #expect(!"\(outcome)".contains(canary))
        }
        // Not this path's to judge: gpg runs again.
        let notHandled: [(String, [UInt8])] = [
            ("data after the SEIPD packet", framed(body) + [0xCB, 0x03, 0x62, 0x00, 0x00]),
            ("SEIPD v2", framed(body, version: 2)),
        ]
        for (name, variant) in notHandled {
            #expect(InProcessUnwrap.unwrap(variant, sessionKey: sessionKey).isNotHandled, "\(name)")
        }
        await parties.fixture.close()
    }

    /// Session keys that do not fit: a wrong length for AES is a failure; another cipher or none goes to gpg.
    @Test func sessionKeysThatDoNotFit() async throws {
        let parties = try await Parties("keys@example.net")
        let ciphertext = try parties.fixture.clientGPG(["--cipher-algo", "AES256", "--sign", "--local-user",
                                                        parties.client.hex, "--encrypt", "--recipient",
                                                        parties.gateway.hex], stdin: Array("key test".utf8)).stdout
        let message = try #require(try await parties.fixture.service.decryptAndVerify(ciphertext).message)
        let material = String(decoding: try #require(message.sessionKey).material, as: UTF8.self)
        #expect(material.hasPrefix("9:") && material.count == 2 + 64)
        let hex = String(material.dropFirst(2))
        let wrongKey = String(hex.dropLast()) + (hex.last == "0" ? "1" : "0")
        let cases: [(String, String?, Bool)] = [
            ("the right key", material, true),
            ("AES-256 key one octet short", "9:" + hex.dropLast(2), false),
            ("AES-256 key one octet long", "9:" + hex + "00", false),
            ("AES-128 with 32 octets", "7:" + hex, false),
            ("AES-192 with 32 octets", "8:" + hex, false),
            ("another key of the right length", "9:" + wrongKey, false),
        ]
        for (name, text, unwraps) in cases {
            let outcome = InProcessUnwrap.unwrap(ciphertext, sessionKey: try #require(Self.sessionKey(text)))
            #expect(unwraps ? outcome.isUnwrapped : outcome.isFailed, "\(name)")
        }
        #expect(InProcessUnwrap.unwrap(ciphertext, sessionKey: Self.sessionKey("2:" + hex.prefix(48))).isNotHandled)
        #expect(InProcessUnwrap.unwrap(ciphertext, sessionKey: Self.sessionKey("13:" + hex)).isNotHandled)
        #expect(InProcessUnwrap.unwrap(ciphertext, sessionKey: nil).isNotHandled)
        await parties.fixture.close()
    }

    static func sessionKey(_ text: String?) -> SessionKey? {
        guard let text else { return nil }
        var cString = Array(text.utf8CString)
        return cString.withUnsafeMutableBufferPointer { SessionKey(takingFrom: $0.baseAddress) }
    }
}

/// The literal-data cross-check on hand-made packets (no gpg needed).
@Suite struct LiteralDataReaderTests {
    private func literal(_ format: Character, _ data: [UInt8], date: UInt32 = 0x6000_0001) -> [UInt8] {
        let body: [UInt8] = [format.asciiValue!, 1, UInt8(ascii: "x"), UInt8(date >> 24), UInt8((date >> 16) & 0xFF),
                             UInt8((date >> 8) & 0xFF), UInt8(date & 0xFF)] + data
        return [0xCB, 0xFF] + withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + body
    }

    private func zlib(_ bytes: [UInt8]) throws -> [UInt8] {
        let script = "import sys,zlib;sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))"
        return try Shell.run("python3", ["-c", script], stdin: bytes).stdout
    }

    @Test func literalDataMustBeGPGsPlaintextOctetForOctet() throws {
        let crlf = Array("a\r\nb\rc".utf8), lf = Array("a\nbc".utf8)
        let text = try LiteralDataReader.check(literal("t", crlf), against: lf, limit: 1 << 20)
        #expect(text == LiteralDataCheck(format: UInt8(ascii: "t"), date: 0x6000_0001, matchesGPGOutput: true))
        #expect(try LiteralDataReader.check(literal("u", crlf), against: lf, limit: 1 << 20).matchesGPGOutput)
        #expect(try !LiteralDataReader.check(literal("t", crlf), against: crlf, limit: 1 << 20).matchesGPGOutput)
        #expect(try LiteralDataReader.check(literal("m", crlf), against: crlf, limit: 1 << 20).matchesGPGOutput)
        #expect(try !LiteralDataReader.check(literal("m", crlf), against: lf, limit: 1 << 20).matchesGPGOutput)
        #expect(try LiteralDataReader.check(literal("b", crlf), against: crlf, limit: 1 << 20).matchesGPGOutput)
        #expect(try !LiteralDataReader.check(literal("b", crlf), against: crlf + [0], limit: 1 << 20).matchesGPGOutput)
        #expect(try !LiteralDataReader.check(literal("b", crlf), against: Array(crlf.dropLast()), limit: 1 << 20)
            .matchesGPGOutput)
        // Through compression (legacy indeterminate length, as gpg writes it).
        let compressed: [UInt8] = [0xA3, 0x02] + (try zlib(literal("b", crlf)))
        #expect(try LiteralDataReader.check(compressed, against: crlf, limit: 1 << 20).matchesGPGOutput)
    }

    @Test func unreadableLiteralDataIsAFailure() throws {
        let one = literal("b", Array("x".utf8))
        #expect(throws: LiteralDataReader.Failure.unreadable) {
            try LiteralDataReader.check(one + one, against: Array("x".utf8), limit: 1 << 20)
        }
        #expect(throws: LiteralDataReader.Failure.unreadable) {
            try LiteralDataReader.check([], against: [], limit: 1 << 20)
        }
        #expect(throws: LiteralDataReader.Failure.unreadable) {
            try LiteralDataReader.check(Array(one.dropLast(3)), against: Array("x".utf8), limit: 1 << 20)
        }
        // A compression bomb past the cap fails, it is not cut.
        let bomb: [UInt8] = [0xA3, 0x02] + (try zlib(literal("b", [UInt8](repeating: 0, count: 1 << 20))))
        #expect(throws: LiteralDataReader.Failure.unreadable) {
            try LiteralDataReader.check(bomb, against: [UInt8](repeating: 0, count: 1 << 20), limit: 1 << 16)
        }
    }

    @Test func gpgLiteralHeaderLine() {
        #expect(GPGLiteralHeader("62 1796477816 ") == GPGLiteralHeader(format: 0x62, date: 1_796_477_816))
        #expect(GPGLiteralHeader("74 0 in.txt") == GPGLiteralHeader(format: 0x74, date: 0))
        #expect(GPGLiteralHeader(nil) == nil)
        #expect(GPGLiteralHeader("x 1") == nil)
    }
}

extension InProcessUnwrap.Outcome {
    var isUnwrapped: Bool { if case .unwrapped = self { true } else { false } }
    var isFailed: Bool { if case .failed = self { true } else { false } }
    var isNotHandled: Bool { if case .notHandled = self { true } else { false } }
}
