// Security: looks at the outer packets of an untrusted ciphertext before gpg sees it, to refuse encrypted-data
// packets whose integrity GnuPG 2.2 cannot report reliably, and anything whose outer packets cannot be read the
// way gpg reads them. Reads packet headers only; never decrypts. Linear in the input: the armor is decoded
// byte by byte (no string splitting), and the packet walk stops at the encrypted-data packet.

import Foundation

/// The kind of encrypted-data packet an OpenPGP message carries (RFC 9580 §5.7, §5.13; AEAD packet 20 from
/// draft-ietf-openpgp-rfc4880bis as GnuPG 2.2 and RNP write it).
///
/// GnuPG 2.2.40 decrypts AEAD packets (tag 20) but reports a forged final tag, or a message cut after its last
/// chunk, with the same status lines as an intact one (DECRYPTION_OKAY, GOODMDC, END_DECRYPTION); only its exit
/// code differs, and gpgme 1.18 does not pass that on. So AEAD data is refused as unsupported until the engine
/// reports the final tag check. The gateway's keys do not announce AEAD, so conforming clients use SEIPD v1.
enum CiphertextShape: Equatable {
    /// SEIPD v1 (MDC): the only shape decrypted.
    case integrityProtected
    /// AEAD (tag 20) or SEIPD v2: refused as unsupported.
    case aead
    /// Symmetrically Encrypted Data (tag 9, no integrity protection): refused.
    case legacyUnprotected
    /// Not an encrypted message: it starts with a signature, one-pass signature, literal or compressed packet.
    case notEncrypted
    /// The outer packets cannot be read (no armor block, bad framing, no encrypted-data packet): refused, since
    /// what gpg would make of it is unknown.
    case unreadable

    /// Key, marker and padding packets before the encrypted data; more is not a message anyone sends.
    static let maximumLeadingPackets = 10_000

    static func of(_ message: [UInt8]) -> CiphertextShape { OuterPackets(message)?.shape ?? .unreadable }

    /// See ``OuterPackets/removingKeyPackets(keyIDs:)``.
    static func removingKeyPackets(_ message: [UInt8], keyIDs excluded: Set<String>) -> [UInt8]? {
        OuterPackets(message)?.removingKeyPackets(keyIDs: excluded)
    }

    /// See ``OuterPackets/keyIDs``.
    static func keyPacketIDs(_ message: [UInt8]) -> [String] { OuterPackets(message)?.keyIDs ?? [] }

    /// The binary packets: the input itself, or the radix-64 body of its first `PGP MESSAGE` armor block
    /// (RFC 9580 §6.2), decoded the way gpg reads it: armor header lines up to the first empty line, then
    /// base64 characters up to the checksum line or the END line; other characters are skipped.
    static func binaryPackets(_ message: [UInt8]) -> [UInt8]? {
        guard let first = message.first else { return nil }
        if first & 0x80 != 0 { return message }
        guard let start = beginLineEnd(message) else { return nil }
        var lines = LineCursor(message, from: start)
        _ = lines.next()  // rest of the BEGIN line
        // Armor headers ("Key: value") up to an empty line; if the first line is not a header, there are none.
        var bodyStart = lines.position
        var sawHeaders = false
        var headerLines = 0
        while let line = lines.next() {
            headerLines += 1
            guard headerLines <= 64 else { return nil }
            let trimmed = line.trimmingSpace
            if trimmed.isEmpty { bodyStart = lines.position; break }
            if trimmed.firstRange(of: Array(": ".utf8)) == nil {
                if !sawHeaders { break }
                return nil  // a header block that does not end in an empty line
            }
            sawHeaders = true
        }
        // One pass over the body bytes (no line slices): base64 characters and padding are kept, spaces, line
        // ends and other characters skipped; a line that starts with '=' (the checksum) or '-' (END) ends it.
        var base64: [UInt8] = []
        base64.reserveCapacity(min(message.count - bodyStart, 64 * 1024 * 1024))
        message.withUnsafeBufferPointer { buffer in
            var atLineStart = true
            var index = bodyStart
            while index < buffer.count {
                let byte = buffer[index]
                index += 1
                switch byte {
                case 0x0A:
                    atLineStart = true
                case 0x0D, 0x20, 0x09:
                    continue
                case UInt8(ascii: "="), UInt8(ascii: "-"):
                    if atLineStart { return }
                    if byte == UInt8(ascii: "=") { base64.append(byte) }
                    atLineStart = false
                default:
                    if Self.isBase64(byte) { base64.append(byte) }
                    atLineStart = false
                }
            }
        }
        // Decoded in place (issue 23: `Data(base64)` was one more copy of a 25 MiB armor).
        let decoded: Data? = base64.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return Data() }
            return Data(base64Encoded: Data(bytesNoCopy: base, count: raw.count, deallocator: .none))
        }
        base64 = []
        guard let decoded else { return nil }
        return Array(decoded)
    }

    /// Where the first armor BEGIN line for a message ends: `-----BEGIN PGP MESSAGE-----` at the start of a line
    /// with nothing but spaces or tabs after it, as gpg reads armor (a decoy such as `X-----BEGIN…` or
    /// `-----BEGIN… decoy` is not one).
    private static func beginLineEnd(_ message: [UInt8]) -> Int? {
        let begin = Array("-----BEGIN PGP MESSAGE-----".utf8)
        var from = 0
        while from < message.count, let range = message[from...].firstRange(of: begin) {
            from = range.upperBound
            guard range.lowerBound == 0 || message[range.lowerBound - 1] == 0x0A else { continue }
            var index = range.upperBound
            while index < message.count, message[index] == 0x20 || message[index] == 0x09 { index += 1 }
            if index == message.count || message[index] == 0x0D || message[index] == 0x0A { return range.upperBound }
        }
        return nil
    }

    private static func isBase64(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
    }
}

/// One reading of a message's outer packets: armor decoded once, the key, marker and padding packets before the
/// encrypted data walked once. Shape, key IDs and the filtered message all come from it.
struct OuterPackets {
    /// The binary packets.
    let binary: [UInt8]
    /// The key, marker and padding packets before the encrypted data: their extent and, for a v3 PKESK, its key
    /// ID (16 upper-case hex digits).
    let leading: [(start: Int, end: Int, keyID: String?)]
    /// What follows them.
    let shape: CiphertextShape

    /// Nil if the input is neither binary OpenPGP nor a readable `PGP MESSAGE` armor block.
    init?(_ message: [UInt8]) {
        guard let binary = CiphertextShape.binaryPackets(message) else { return nil }
        self.binary = binary
        var leading: [(Int, Int, String?)] = []
        var index = 0
        var shape = CiphertextShape.unreadable
        walk: while index < binary.count, leading.count < CiphertextShape.maximumLeadingPackets {
            guard let header = OpenPGPSniffer.PacketHeader(Array(binary[index..<min(index + 6, binary.count)]))
            else { break walk }
            let bodyStart = index + header.headerLength
            switch header.tag {
            case 1, 3, 10, 21:
                // PKESK, SKESK, marker, padding (RFC 9580 §5.14): definite lengths, before the encrypted data.
                guard let length = header.bodyLength, length <= binary.count - bodyStart else { break walk }
                var keyID: String?
                if header.tag == 1, length >= 9, binary[bodyStart] == 3 {
                    keyID = binary[(bodyStart + 1)..<(bodyStart + 9)].map { String(format: "%02X", $0) }.joined()
                }
                leading.append((index, bodyStart + length, keyID))
                index = bodyStart + length
            case 20:
                shape = .aead
                break walk
            case 18:
                guard bodyStart < binary.count else { break walk }
                shape = binary[bodyStart] == 1 ? .integrityProtected : .aead
                break walk
            case 9:
                shape = .legacyUnprotected
                break walk
            case 2, 4, 8, 11 where leading.isEmpty:
                shape = .notEncrypted
                break walk
            default:
                break walk
            }
        }
        self.leading = leading
        self.shape = shape
    }

    /// The key IDs of the message's v3 public-key encrypted session key packets.
    var keyIDs: [String] { leading.compactMap(\.keyID) }

    /// The message without the public-key encrypted session key packets (v3) whose key ID is in `excluded`, as
    /// binary packets; nil if nothing was removed. gpg uses the first key packet it holds a secret key for, so a
    /// message encrypted to two mailboxes would otherwise be opened with whichever key comes first, not with the
    /// key of the mailbox it was sent to (RFC 9580 §5.1).
    func removingKeyPackets(keyIDs excluded: Set<String>) -> [UInt8]? {
        var kept: [UInt8] = []
        var removed = false
        for (start, end, keyID) in leading {
            if let keyID, excluded.contains(keyID) {
                removed = true
            } else {
                kept += binary[start..<end]
            }
        }
        kept += binary[(leading.last?.end ?? 0)...]
        return removed ? kept : nil
    }
}

/// Lines of a byte buffer (LF or CRLF), as slices; no copies.
private struct LineCursor {
    let bytes: [UInt8]
    private(set) var position: Int

    init(_ bytes: [UInt8], from position: Int) {
        self.bytes = bytes
        self.position = position
    }

    mutating func next() -> ArraySlice<UInt8>? {
        guard position < bytes.count else { return nil }
        let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.count
        var line = bytes[position..<end]
        if line.last == 0x0D { line = line.dropLast() }
        position = min(end + 1, bytes.count)
        return line
    }
}

extension ArraySlice<UInt8> {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpace: ArraySlice<UInt8> {
        var slice = self
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return slice
    }
}
