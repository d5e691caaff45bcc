import Foundation
import PGPShim
import ThreadStore

/// The decrypted content of an encrypted mail, read for storing: subject (protected header if present),
/// attachments, and keys the client attached. Built only from bytes that were inside the encryption, except the
/// outer Subject and Message-ID, which travelled in clear anyway.
struct InnerMessage {
    let subject: String
    /// Whether ``subject`` came from the encrypted (and, when signed, signed) inner headers rather than from the
    /// outer Subject, which travelled in clear and is covered by no signature.
    let subjectIsProtected: Bool
    let attachments: [NewAttachment]
    let offeredKeys: [[UInt8]]
    /// What the signed inner headers (protected headers) say about sender and recipients; `.absent` where the
    /// entity has no such header. Compared with the outer From and the mailbox before a signature is "valid".
    let protectedFrom: ProtectedAddresses
    let protectedRecipients: ProtectedAddresses
    private let outerMessageID: String?

    /// Addresses from a protected header: absent, unreadable (a doubt), or the canonical addresses.
    enum ProtectedAddresses: Equatable {
        case absent
        case unreadable
        case addresses([String])
    }

    init(decrypted: DecryptedMessage, outerHeaders: MIMEHeaders, limits: MIMELimits) {
        outerMessageID = outerHeaders.first("Message-ID")?.value.trimmingCharacters(in: .whitespaces)
        let inner = Self.parseMIME(decrypted.plaintext.bytes, limits: limits)
        // Protected headers (draft-autocrypt-lamps-protected-headers): a Subject inside the encrypted entity
        // wins over the outer one (which Thunderbird sets to "...").
        if let subject = inner?.headers.first("Subject")?.decodedValue {
            self.subject = subject
            subjectIsProtected = true
        } else {
            self.subject = outerHeaders.first("Subject")?.decodedValue ?? ""
            subjectIsProtected = false
        }
        let found = InnerAttachments(inner?.root)
        self.attachments = found.attachments
        self.offeredKeys = found.offeredKeys
        if let headers = inner?.headers, !headers.all("From").isEmpty {
            protectedFrom = (try? SenderIdentity(headers: headers)).map { .addresses([$0.address.canonical]) }
                ?? .unreadable
        } else {
            protectedFrom = .absent
        }
        protectedRecipients = Self.recipients(inner?.headers)
    }

    /// The addr-specs of the inner To and Cc fields, lower-cased; `.unreadable` if one does not parse.
    private static func recipients(_ headers: MIMEHeaders?) -> ProtectedAddresses {
        guard let headers else { return .absent }
        let fields = headers.all("To") + headers.all("Cc")
        guard !fields.isEmpty else { return .absent }
        var found: [String] = []
        for field in fields.prefix(8) {
            guard let list = EtPanAddressList(Array(field.value.utf8)), list.consumedAll else { return .unreadable }
            for case .mailbox(_, let spec) in list.entries.prefix(100) {
                let text = String(decoding: spec, as: UTF8.self)
                found.append((try? EmailAddress(text))?.canonical ?? text.lowercased())
            }
        }
        return .addresses(found)
    }

    /// The Message-ID to make imports idempotent; a missing one is replaced by one derived from the ciphertext.
    func messageID(fallbackHash: PayloadHash) -> String {
        if let id = outerMessageID, !id.isEmpty, id.utf8.count <= 998 { return id }
        let hex = fallbackHash.bytes.map { String(format: "%02x", $0) }.joined()
        return "<\(hex)@mailbridge.invalid>"
    }

    /// Inline PGP decrypts to bare text; PGP/MIME to a MIME entity, whatever its first header field and with or
    /// without Content-Type (``DecryptedEntity`` decides, as for the inbox).
    private static func parseMIME(_ bytes: [UInt8], limits: MIMELimits) -> MIMEMessage? {
        DecryptedEntity(bytes, limits: limits).message
    }
}
