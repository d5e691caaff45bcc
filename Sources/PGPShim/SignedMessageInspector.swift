// Security: reads the decrypted OpenPGP packet stream of an untrusted message (gpg's `--unwrap` output, or the
// in-process unwrap's) to learn what gpg does not report: the hashed Intended Recipient Fingerprint subpackets of
// its signatures, and whether any packet inside the encryption starts another encrypted message. It never verifies
// or decrypts anything; every length is checked against the data, depth and packet count are capped, and
// decompression is capped.

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the packets inside an encrypted message say (RFC 9580 §4.2 packet framing, §5.2 signatures).
struct SignedMessageInspection: Equatable, Sendable {
    /// One signature packet's hashed facts.
    struct Signature: Equatable, Sendable {
        /// Issuer fingerprint (subpacket 33), upper-case hex, if present.
        var issuerFingerprint: String?
        /// Intended Recipient Fingerprints (subpacket 35, hashed area only), upper-case hex.
        var intendedRecipients: [String]
    }

    var signatures: [Signature] = []
    /// A key, encrypted-data or marker packet was found inside the encrypted data (at any depth).
    var containsEncryptedMessage = false
}

enum SignedMessageInspector {
    enum Failure: Error, Equatable {
        /// The packet stream is malformed, too deep, too long, or uses an unknown compression.
        case malformed
    }

    static let maximumDepth = 4
    static let maximumPackets = 10_000

    /// Inspects `stream` (binary packets), decompressing compressed data packets up to `limit` bytes in all.
    static func inspect(_ stream: [UInt8], limit: Int) throws(Failure) -> SignedMessageInspection {
        var result = SignedMessageInspection()
        var budget = limit
        var packets = 0
        try walk(stream[...], depth: 0, budget: &budget, packets: &packets, into: &result)
        return result
    }

    private static func walk(_ data: ArraySlice<UInt8>, depth: Int, budget: inout Int, packets: inout Int,
                             into result: inout SignedMessageInspection) throws(Failure) {
        guard depth <= maximumDepth else { throw .malformed }
        var rest = data
        while !rest.isEmpty {
            packets += 1
            guard packets <= maximumPackets else { throw .malformed }
            // Only signature and compressed data bodies are read; the literal data (the message itself) is
            // skipped in place, never copied (issue 23).
            let (tag, body, remainder) = try nextPacket(rest, keepingBody: { $0 == 2 || $0 == 8 })
            rest = remainder
            switch tag {
            case 1, 3, 9, 10, 18, 20:
                // PKESK, SKESK, SED, marker, SEIPD, AEAD: another encrypted message inside this one.
                result.containsEncryptedMessage = true
            case 8:
                guard let algorithm = body.first else { throw .malformed }
                var inflated: [UInt8]
                do {
                    inflated = try Decompressor.decompress(body.dropFirst(), algorithm: algorithm, limit: budget)
                } catch { throw .malformed }
                // The inflated packets hold the message's plaintext: zeroed before they are freed.
                defer {
                    inflated.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
                }
                budget -= inflated.count
                try walk(inflated[...], depth: depth + 1, budget: &budget, packets: &packets, into: &result)
            case 2:
                if let signature = try parseSignature(Array(body)) { result.signatures.append(signature) }
            default:
                break
            }
        }
    }

    /// Splits off one packet: its tag, its body (partial chunks joined; empty unless `keepingBody` says so for
    /// the tag) and what follows. A body in one piece is a slice of `data`, not a copy.
    static func nextPacket(_ data: ArraySlice<UInt8>, keepingBody: (Int) -> Bool) throws(Failure)
        -> (tag: Int, body: ArraySlice<UInt8>, rest: ArraySlice<UInt8>)
    {
        guard let header = OpenPGPSniffer.PacketHeader(Array(data.prefix(6))) else { throw .malformed }
        var index = data.startIndex + header.headerLength
        guard index <= data.endIndex else { throw .malformed }
        if let length = header.bodyLength {
            guard length <= data.endIndex - index else { throw .malformed }
            return (header.tag, data[index..<(index + length)], data[(index + length)...])
        }
        let first = data[data.startIndex]
        if first & 0x40 == 0 {
            // Legacy indeterminate length: the packet runs to the end of the data.
            return (header.tag, data[index...], data[data.endIndex...])
        }
        // New-format partial body lengths (RFC 9580 §4.2.1.4): chunks until a definite length.
        let keep = keepingBody(header.tag)
        var body: [UInt8] = []
        var octet = Int(data[data.startIndex + 1])
        while true {
            if octet >= 224 && octet < 255 {
                let chunk = 1 << (octet & 0x1F)
                guard chunk <= data.endIndex - index else { throw .malformed }
                if keep { body.append(contentsOf: data[index..<(index + chunk)]) }
                index += chunk
                guard index < data.endIndex else { throw .malformed }
                octet = Int(data[index])
                index += 1
                continue
            }
            var length: Int
            switch octet {
            case 0..<192:
                length = octet
            case 192..<224:
                guard index < data.endIndex else { throw .malformed }
                length = ((octet - 192) << 8) + Int(data[index]) + 192
                index += 1
            default:
                guard data.endIndex - index >= 4 else { throw .malformed }
                length = data[index..<(index + 4)].reduce(0) { ($0 << 8) | Int($1) }
                index += 4
            }
            guard length <= data.endIndex - index else { throw .malformed }
            if keep { body.append(contentsOf: data[index..<(index + length)]) }
            return (header.tag, body[...], data[(index + length)...])
        }
    }

    /// The hashed subpackets of a v4, v5 or v6 signature (RFC 9580 §5.2.3); nil for v3 (no subpackets).
    private static func parseSignature(_ body: [UInt8]) throws(Failure) -> SignedMessageInspection.Signature? {
        guard let version = body.first else { throw .malformed }
        guard version == 4 || version == 5 || version == 6 else { return nil }
        // version, type, public-key algorithm, hash algorithm, then the hashed area's length (2 octets in v4,
        // 4 in v5/v6).
        let lengthOctets = version == 4 ? 2 : 4
        guard body.count >= 4 + lengthOctets else { throw .malformed }
        let hashedLength = body[4..<(4 + lengthOctets)].reduce(0) { ($0 << 8) | Int($1) }
        let start = 4 + lengthOctets
        guard hashedLength <= body.count - start else { throw .malformed }
        var area = body[start..<(start + hashedLength)]
        var signature = SignedMessageInspection.Signature(issuerFingerprint: nil, intendedRecipients: [])
        while !area.isEmpty {
            let first = Int(area[area.startIndex])
            var index = area.startIndex + 1
            var length: Int
            switch first {
            case 0..<192:
                length = first
            case 192..<255:
                guard index < area.endIndex else { throw .malformed }
                length = ((first - 192) << 8) + Int(area[index]) + 192
                index += 1
            default:
                guard area.endIndex - index >= 4 else { throw .malformed }
                length = area[index..<(index + 4)].reduce(0) { ($0 << 8) | Int($1) }
                index += 4
            }
            guard length >= 1, length <= area.endIndex - index else { throw .malformed }
            let type = area[index] & 0x7F
            let value = area[(index + 1)..<(index + length)]
            switch type {
            case 33, 35:
                // Issuer Fingerprint / Intended Recipient Fingerprint: key version octet, then the fingerprint
                // (20 octets for v4, 32 for v5/v6).
                guard let keyVersion = value.first, value.count == 21 || value.count == 33 else { break }
                _ = keyVersion
                let hex = value.dropFirst().map { String(format: "%02X", $0) }.joined()
                if type == 33 { signature.issuerFingerprint = hex } else { signature.intendedRecipients.append(hex) }
            default:
                break
            }
            area = area[(index + length)...]
        }
        return signature
    }
}
