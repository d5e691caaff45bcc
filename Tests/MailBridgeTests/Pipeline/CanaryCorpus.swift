import Foundation
import MailBridge
import PGPShim
import TestSupport

/// One generated inbound mail of the canary corpus: raw bytes (CRLF), envelope sender, and what the pipeline
/// must do with it.
struct CorpusMail {
    enum Kind: String, CaseIterable {
        case gpgPGPMIME, sqopPGPMIME, rnpPGPMIME, gpgInline, unsignedKnownSender, pythonPGPMIME, neomutt
        case replay, wrongRecipient, corrupted, noMDC, invalidSender
        case plain, eightBit, quotedPrintable, autoReply, malformed, mixed
    }

    enum Expectation: Equatable {
        /// A fresh ciphertext: must become a thread message.
        case imported
        /// Encrypted but must fail (decryption, replay, sender): `.rejectedEncrypted`, nothing to the sender.
        case rejected
        /// Plain or not cleanly encrypted: redirect (or suppressed redirect), never a thread.
        case plainHandling
        /// Malformed: anything except an import; a reply to the sender only if it was handled as plain.
        case notImported
    }

    var kind: Kind
    var expectation: Expectation
    /// Envelope sender (`nil`: null reverse path).
    var sender: String?
    var bytes: [UInt8]
    /// For `.imported`: a canary that must be found in the stored (decrypted) message body.
    var storedBodyCanary: String?
}

/// Mints unique canaries. Content canaries share the prefix ``contentPrefix`` and address canaries (in the local
/// part of sender addresses) ``addressPrefix``, so one scan for the prefix finds any of them.
final class CanaryMint {
    static let contentPrefix = "QXCANARY"
    static let addressPrefix = "qxaddr"
    private var counter = 0

    /// A new content canary tagged with where it is planted (`subj`, `body`, `name`, `file`, `hdr` …).
    func content(_ place: String) -> String {
        counter += 1
        return "\(Self.contentPrefix)\(counter)\(place)Z"
    }

    /// A new, unique client address whose local part carries an address canary.
    func address(_ tag: String = "k") -> String {
        counter += 1
        return "\(tag).\(Self.addressPrefix)\(counter)@example.net"
    }
}

/// OpenPGP ASCII armor (RFC 4880 §6, CRC-24 §6.1), to corrupt binary ciphertexts and re-armor them without
/// spawning a process per variant.
enum Armor {
    static func decode(_ armored: [UInt8]) -> [UInt8]? {
        let lines = armored.text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n",
                                                                                 omittingEmptySubsequences: false)
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN PGP MESSAGE") }),
            let blank = lines[begin...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty })
        else { return nil }
        var base64 = ""
        for line in lines[(blank + 1)...] {
            if line.hasPrefix("=") || line.hasPrefix("-----END") { break }
            base64 += line.trimmingCharacters(in: .whitespaces)
        }
        return Data(base64Encoded: base64).map { Array($0) }
    }

    static func encode(_ binary: [UInt8]) -> String {
        var crc: UInt32 = 0xB704CE
        for byte in binary {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x100_0000 != 0 { crc ^= 0x186_4CFB }
            }
        }
        crc &= 0xFF_FFFF
        let checksum = Data([UInt8(crc >> 16), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]).base64EncodedString()
        let body = Data(binary).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn,
                                                               .endLineWithLineFeed])
        return "-----BEGIN PGP MESSAGE-----\r\n\r\n\(body)\r\n=\(checksum)\r\n-----END PGP MESSAGE-----\r\n"
    }
}

/// Wraps an armored ciphertext in the PGP/MIME (RFC 3156 §4) shapes real clients produce.
enum PGPMIMEWrapper {
    static let styles = 4

    /// `headers` are the outer header lines (From, To, Subject, Message-ID, custom ones), CRLF-terminated.
    static func wrap(_ armored: String, headers: String, style: Int, fileCanary: String) -> String {
        let armor = crlf(armored).hasSuffix("\r\n") ? crlf(armored) : crlf(armored) + "\r\n"
        switch style % styles {
        case 0:
            return headers + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\r\n\r\n"
                + "--b0\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
                + "--b0\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n"
                + armor + "--b0--\r\n"
        case 1:
            // Thunderbird/Enigmail look: preamble, descriptions, a boundary with special characters.
            let boundary = "=_Part+42:x.y"
            return headers + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/encrypted;\r\n protocol=\"application/pgp-encrypted\";\r\n"
                + " boundary=\"\(boundary)\"\r\n\r\n"
                + "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
                + "--\(boundary)\r\nContent-Type: application/pgp-encrypted\r\n"
                + "Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n"
                + "--\(boundary)\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
                + "Content-Description: OpenPGP encrypted message\r\n"
                + "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
                + armor + "\r\n--\(boundary)--\r\n\r\nepilogue\r\n"
        case 2:
            // The armored part itself base64-encoded (allowed by RFC 2045; some MTAs re-encode).
            let encoded = Data(armor.utf8).base64EncodedString(options: [.lineLength76Characters,
                                                                          .endLineWithCarriageReturn,
                                                                          .endLineWithLineFeed])
            return headers + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/encrypted; boundary=b2; protocol=\"application/pgp-encrypted\"\r\n\r\n"
                + "--b2\r\nContent-Type: application/pgp-encrypted\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                + "Version: 1\r\n"
                + "--b2\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + encoded + "\r\n--b2--\r\n"
        default:
            // A file name carrying a canary and RFC 2231 parameters on the encrypted part.
            return headers + "MIME-Version: 1.0\r\n"
                + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n\tboundary=\"b3\"\r\n\r\n"
                + "--b3\r\nContent-Type: application/pgp-encrypted; charset=us-ascii\r\n\r\nVersion: 1\r\n\r\n"
                + "--b3\r\nContent-Type: application/octet-stream;\r\n name*=utf-8''%C3%BC\(fileCanary).asc\r\n"
                + "Content-Disposition: attachment; filename=\"\(fileCanary).asc\"\r\n\r\n"
                + armor + "--b3--\r\n"
        }
    }

    static func crlf(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    }
}
