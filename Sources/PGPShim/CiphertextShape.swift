// Security: looks at the outer packets of an untrusted ciphertext before gpg sees it, to refuse encrypted-data
// packets whose integrity GnuPG 2.2 cannot report reliably. Reads packet headers only; never decrypts.

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
    /// Not readable here (odd armor, no encrypted-data packet): gpg decides, under the status-line rules.
    case unknown

    static func of(_ message: [UInt8]) -> CiphertextShape {
        guard let packets = binaryPackets(message) else { return .unknown }
        var data = packets[...]
        var packetCount = 0
        while !data.isEmpty, packetCount < 64 {
            packetCount += 1
            guard let header = OpenPGPSniffer.PacketHeader(Array(data.prefix(6))) else { return .unknown }
            switch header.tag {
            case 20: return .aead
            case 18:
                let version = data.dropFirst(header.headerLength).first
                return version == 1 ? .integrityProtected : .aead
            case 9: return .legacyUnprotected
            default:
                // Key packets and markers precede the encrypted data; they have definite lengths.
                guard let length = header.bodyLength, length <= data.count - header.headerLength else {
                    return .unknown
                }
                data = data.dropFirst(header.headerLength + length)
            }
        }
        return .unknown
    }

    /// The message without the public-key encrypted session key packets (v3) whose key ID is in `excluded`, as
    /// binary packets; nil if nothing was removed or the outer packets cannot be read. gpg uses the first key
    /// packet it holds a secret key for, so a message encrypted to two mailboxes would otherwise be opened with
    /// whichever key comes first, not with the key of the mailbox it was sent to (RFC 9580 §5.1).
    static func removingKeyPackets(_ message: [UInt8], keyIDs excluded: Set<String>) -> [UInt8]? {
        guard let packets = binaryPackets(message) else { return nil }
        var kept: [UInt8] = []
        var index = 0
        var removed = false
        while index < packets.count {
            guard let header = OpenPGPSniffer.PacketHeader(Array(packets[index..<min(index + 6, packets.count)]))
            else { return nil }
            guard header.tag == 1 || header.tag == 3 || header.tag == 10 else {
                // The encrypted data packet and whatever follows: kept as they are.
                kept += packets[index...]
                break
            }
            guard let length = header.bodyLength, length <= packets.count - index - header.headerLength else {
                return nil
            }
            let end = index + header.headerLength + length
            let body = packets[(index + header.headerLength)..<end]
            if header.tag == 1, body.count >= 9, body.first == 3,
                excluded.contains(body.dropFirst().prefix(8).map { String(format: "%02X", $0) }.joined())
            {
                removed = true
            } else {
                kept += packets[index..<end]
            }
            index = end
        }
        return removed ? kept : nil
    }

    /// The key IDs (16 upper-case hex digits) of the message's v3 public-key encrypted session key packets.
    static func keyPacketIDs(_ message: [UInt8]) -> [String] {
        guard let packets = binaryPackets(message) else { return [] }
        var ids: [String] = []
        var index = 0
        while index < packets.count, ids.count < 64 {
            guard let header = OpenPGPSniffer.PacketHeader(Array(packets[index..<min(index + 6, packets.count)])),
                header.tag == 1 || header.tag == 3 || header.tag == 10,
                let length = header.bodyLength, length <= packets.count - index - header.headerLength
            else { break }
            let body = packets[(index + header.headerLength)..<(index + header.headerLength + length)]
            if header.tag == 1, body.count >= 9, body.first == 3 {
                ids.append(body.dropFirst().prefix(8).map { String(format: "%02X", $0) }.joined())
            }
            index += header.headerLength + length
        }
        return ids
    }

    /// The binary packets: the input itself, or the base64 body of its first `PGP MESSAGE` armor block.
    private static func binaryPackets(_ message: [UInt8]) -> [UInt8]? {
        guard let first = message.first else { return nil }
        if first & 0x80 != 0 { return message }
        let text = String(decoding: message.prefix(64 * 1024 * 1024), as: UTF8.self)
        guard let begin = text.range(of: "-----BEGIN PGP MESSAGE-----") else { return nil }
        var lines = text[begin.upperBound...].split(omittingEmptySubsequences: false,
                                                     whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
        lines.removeFirst()  // rest of the BEGIN line
        // Armor headers ("Key: value") up to the first empty line (RFC 9580 §6.2); tolerate none.
        if let blank = lines.firstIndex(of: ""), lines[..<blank].allSatisfy({ $0.contains(": ") }) {
            lines.removeFirst(blank + 1)
        }
        var base64 = ""
        for line in lines {
            if line.hasPrefix("-----END") || line.hasPrefix("=") { break }
            base64 += line
        }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return Array(data)
    }
}
