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
    /// (RFC 9580 §6.2), decoded the way gpg reads it (see ``ArmorDecoder``). The same decoder writes the packets
    /// of a large message to a ``CiphertextFile`` instead, so both paths give gpg the same octets.
    static func binaryPackets(_ message: [UInt8]) -> [UInt8]? {
        if let first = message.first, first & 0x80 != 0 { return message }  // binary: no copy
        var binary: [UInt8] = []
        binary.reserveCapacity(message.count)
        let readable = ArmorDecoder.decode(message) { (chunk: UnsafeRawBufferPointer) throws(Never) in
            binary.append(contentsOf: chunk)
        }
        return readable ? binary : nil
    }

    /// Where the radix-64 body of the first `PGP MESSAGE` armor block starts: armor header lines up to the first
    /// empty line are skipped; if the first line after BEGIN is not a header, there are none. Nil without a BEGIN
    /// line or with a header block that does not end in an empty line.
    static func armorBodyStart(_ message: [UInt8]) -> Int? {
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
        return bodyStart
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

    static func isBase64(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
    }
}

/// One reading of a message's outer packets: armor decoded once, the key, marker and padding packets before the
/// encrypted data walked once. Shape, key IDs and the filtered message all come from it.
struct OuterPackets {
    /// The binary packets.
    let binary: [UInt8]
    /// Where the packets before the encrypted data are, and what follows them.
    let layout: PacketLayout

    /// The key, marker and padding packets before the encrypted data: their extent and, for a v3 PKESK, its key
    /// ID (16 upper-case hex digits).
    var leading: [(start: Int, end: Int, keyID: String?)] { layout.leading }
    /// What follows them.
    var shape: CiphertextShape { layout.shape }

    /// Nil if the input is neither binary OpenPGP nor a readable `PGP MESSAGE` armor block.
    init?(_ message: [UInt8]) {
        guard let binary = CiphertextShape.binaryPackets(message) else { return nil }
        self.binary = binary
        self.layout = PacketLayout(count: binary.count) { (range: Range<Int>) throws(Never) in Array(binary[range]) }
    }

    /// The key IDs of the message's v3 public-key encrypted session key packets.
    var keyIDs: [String] { layout.keyIDs }

    /// The message without the public-key encrypted session key packets (v3) whose key ID is in `excluded`, as
    /// binary packets; nil if nothing was removed. See ``PacketLayout/keptRanges(excludingKeyIDs:)``.
    func removingKeyPackets(keyIDs excluded: Set<String>) -> [UInt8]? {
        layout.keptRanges(excludingKeyIDs: excluded).map(octets(in:))
    }

    /// The binary packets' octets in `ranges`, one after the other.
    func octets(in ranges: [Range<Int>]) -> [UInt8] {
        var kept: [UInt8] = []
        for range in ranges { kept += binary[range] }
        return kept
    }
}

/// The walk over the packets before the encrypted data (key, marker, padding) of binary OpenPGP packets, in memory
/// or in a ``CiphertextFile``: it reads packet headers, the first octets of each key packet and the version octet
/// of the encrypted data, never more, so a file is not read into memory.
struct PacketLayout {
    /// The octets the walk read from.
    let count: Int
    /// The key, marker and padding packets before the encrypted data: their extent and, for a v3 PKESK, its key
    /// ID (16 upper-case hex digits).
    let leading: [(start: Int, end: Int, keyID: String?)]
    /// What follows them.
    let shape: CiphertextShape

    /// Walks `count` octets, reading them through `read` (which returns exactly the octets of the range asked for,
    /// or throws: an I/O failure is not a verdict on the message).
    init<Failure: Error>(count: Int, read: (Range<Int>) throws(Failure) -> [UInt8]) throws(Failure) {
        self.count = count
        var leading: [(Int, Int, String?)] = []
        var index = 0
        var shape = CiphertextShape.unreadable
        walk: while index < count, leading.count < CiphertextShape.maximumLeadingPackets {
            guard let header = OpenPGPSniffer.PacketHeader(try read(index..<min(index + 6, count))) else { break walk }
            let bodyStart = index + header.headerLength
            switch header.tag {
            case 1, 3, 10, 21:
                // PKESK, SKESK, marker, padding (RFC 9580 §5.14): definite lengths, before the encrypted data.
                guard let length = header.bodyLength, length <= count - bodyStart else { break walk }
                var keyID: String?
                if header.tag == 1, length >= 9 {
                    let start = try read(bodyStart..<(bodyStart + 9))
                    if start[0] == 3 { keyID = start[1...].map { String(format: "%02X", $0) }.joined() }
                }
                leading.append((index, bodyStart + length, keyID))
                index = bodyStart + length
            case 20:
                shape = .aead
                break walk
            case 18:
                guard bodyStart < count else { break walk }
                shape = try read(bodyStart..<(bodyStart + 1))[0] == 1 ? .integrityProtected : .aead
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

    /// The ranges of the message that remain without the public-key encrypted session key packets (v3) whose key
    /// ID is in `excluded`: the other leading packets, then everything from the encrypted data on; nil if nothing
    /// was removed. gpg uses the first key packet it holds a secret key for, so a message encrypted to two
    /// mailboxes would otherwise be opened with whichever key comes first, not with the key of the mailbox it was
    /// sent to (RFC 9580 §5.1).
    func keptRanges(excludingKeyIDs excluded: Set<String>) -> [Range<Int>]? {
        var kept: [Range<Int>] = []
        var removed = false
        for (start, end, keyID) in leading {
            if let keyID, excluded.contains(keyID) {
                removed = true
            } else if let last = kept.last, last.upperBound == start {
                kept[kept.count - 1] = last.lowerBound..<end
            } else {
                kept.append(start..<end)
            }
        }
        let rest = (leading.last?.end ?? 0)..<count
        if let last = kept.last, last.upperBound == rest.lowerBound {
            kept[kept.count - 1] = last.lowerBound..<rest.upperBound
        } else {
            kept.append(rest)
        }
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
