// Security: decrypts the SEIPD v1 packet of an untrusted message in-process, with the session key gpg exported
// when it decrypted the same message, to read what gpg does not report (issue 23: one gpg start per signed
// message instead of two). It never decides anything gpg has not already decided: it runs only after gpg
// decrypted and verified the message, and its result is used only if the MDC verifies and the literal data is
// byte-identical to gpg's plaintext (GPGContext+InProcessUnwrap.swift). The quick check (RFC 9580 §5.13.2) is
// never looked at. Key bytes and every plaintext buffer are zeroed before they are freed.

import Crypto
import Foundation
import _CryptoExtras

#if canImport(Glibc)
import Glibc
#endif

/// The in-process unwrap of a SEIPD v1 packet (RFC 9580 §5.13.1, RFC 4880 §5.13): AES-128/192/256 in OpenPGP
/// CFB mode without resynchronisation (an IV of zeros, a random prefix of block size + 2 octets), followed by
/// the Modification Detection Code packet (tag 19, `0xD3 0x14`, SHA-1 over prefix, plaintext and `0xD3 0x14`).
enum InProcessUnwrap {
    enum Outcome {
        /// The inner OpenPGP message (what `gpg --decrypt --unwrap` writes), MDC verified. Plaintext: the caller
        /// zeroes it.
        case unwrapped([UInt8])
        /// Not a message this path handles (another cipher, no exported session key, another packet layout):
        /// the caller runs gpg again instead. Not a verdict.
        case notHandled
        /// The MDC does not verify, the packet is cut, or the session key does not fit its cipher: a failure of
        /// the whole decryption.
        case failed
    }

    /// AES block size (RFC 9580 §9.3: 128 bits for algorithms 7, 8, 9).
    static let blockSize = 16
    /// The MDC packet: header `0xD3 0x14` and a 20-octet SHA-1 digest (RFC 4880 §5.14).
    static let mdcPacketLength = 22

    /// The largest message this path takes. It holds the encrypted body, its decryption and the inner message at
    /// once (and the inspector inflates compressed data again), which for a 25 MiB message raised the gateway's
    /// peak by about 50 MiB (`scripts/bench-rss 20 25 pgp`: 220.1 against 168.3 MiB, 2026-12-06); the second gpg run
    /// writes only the inner message. Small messages, where a gpg start is most of the cost, take this path.
    static let maximumMessageBytes = 1 << 20

    /// Unwraps `message` (armored or binary) with `sessionKey` (gpg's `<algo>:<hex>`).
    static func unwrap(_ message: [UInt8], sessionKey: SessionKey?) -> Outcome {
        guard message.count <= maximumMessageBytes, let sessionKey, let outer = OuterPackets(message),
            outer.shape == .integrityProtected
        else {
            return .notHandled
        }
        guard let ciphertext = seipdBody(outer) else { return .notHandled }
        var keyBytes: [UInt8]
        switch aesKey(sessionKey) {
        case .key(let bytes): keyBytes = bytes
        case .notAES: return .notHandled
        case .malformed: return .failed
        }
        // SymmetricKey keeps its own copy in SecureBytes (zeroed when freed); ours is zeroed now.
        let key = SymmetricKey(data: keyBytes)
        wipe(&keyBytes)
        return decrypt(ciphertext, key: key)
    }

    /// The encrypted octets of the message's one SEIPD v1 packet (after the version octet), partial body chunks
    /// joined; nil unless the packet follows the key packets directly and ends exactly where the data ends.
    static func seipdBody(_ outer: OuterPackets) -> [UInt8]? {
        let binary = outer.binary
        let start = outer.leading.last?.end ?? 0
        guard start < binary.count,
            let header = OpenPGPSniffer.PacketHeader(Array(binary[start..<min(start + 6, binary.count)])),
            header.tag == 18
        else { return nil }
        guard let body = try? SignedMessageInspector.nextPacket(binary[start...], keepingBody: { _ in true }),
            body.rest.isEmpty, body.body.first == 1
        else { return nil }
        return Array(body.body.dropFirst())
    }

    private enum KeyParse {
        case key([UInt8])
        case notAES
        case malformed
    }

    /// The key bytes of an AES session key (`7:`, `8:`, `9:` and 32, 48 or 64 hex digits); ``KeyParse/notAES``
    /// for any other algorithm, ``KeyParse/malformed`` for an AES key of the wrong length.
    private static func aesKey(_ sessionKey: SessionKey) -> KeyParse {
        let material = sessionKey.material
        guard let colon = material.firstIndex(of: UInt8(ascii: ":")) else { return .malformed }
        let algorithm = material[..<colon]
        let length: Int
        switch Array(algorithm) {
        case Array("7".utf8): length = 16
        case Array("8".utf8): length = 24
        case Array("9".utf8): length = 32
        default: return .notAES
        }
        let hex = material[(colon + 1)...]
        guard hex.count == 2 * length else { return .malformed }
        var bytes = [UInt8](repeating: 0, count: length)
        var index = hex.startIndex
        for position in 0..<length {
            guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else {
                wipe(&bytes)
                return .malformed
            }
            bytes[position] = high << 4 | low
            index += 2
        }
        return .key(bytes)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x41...0x46: digit - 0x41 + 10
        case 0x61...0x66: digit - 0x61 + 10
        default: nil
        }
    }

    /// Decrypts and checks the MDC; the inner message on success.
    static func decrypt(_ ciphertext: [UInt8], key: SymmetricKey) -> Outcome {
        guard ciphertext.count >= blockSize + 2 + mdcPacketLength,
            [128, 192, 256].contains(key.bitCount),
            let iv = try? AES._CFB.IV(ivBytes: [UInt8](repeating: 0, count: blockSize)),
            var clear = try? AES._CFB.decrypt(ciphertext, using: key, iv: iv)
        else { return .failed }
        defer { clear.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        guard clear.count == ciphertext.count else { return .failed }
        let hashed = clear.count - 20
        // RFC 4880 §5.14: the MDC packet is the last 22 octets, its header always 0xD3 0x14, and the digest
        // covers everything before the digest (prefix, inner message, MDC header).
        let verified: Bool = clear.withUnsafeBytes { raw in
            guard raw[hashed - 2] == 0xD3, raw[hashed - 1] == 0x14 else { return false }
            let digest = Insecure.SHA1.hash(data: UnsafeRawBufferPointer(rebasing: raw[..<hashed]))
            var difference: UInt8 = 0
            for (offset, octet) in digest.enumerated() { difference |= octet ^ raw[hashed + offset] }
            return difference == 0
        }
        guard verified else { return .failed }
        let inner = clear.withUnsafeBytes { raw in
            Array(UnsafeRawBufferPointer(rebasing: raw[(blockSize + 2)..<(hashed - 2)]))
        }
        return .unwrapped(inner)
    }

    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
    }
}

extension InProcessUnwrap.Outcome: CustomStringConvertible {
    /// The size of an unwrapped message only, never its bytes.
    var description: String {
        switch self {
        case .unwrapped(let inner): "unwrapped(<\(inner.count) bytes>)"
        case .notHandled: "notHandled"
        case .failed: "failed"
        }
    }
}
