// Security: the receipt is the one mail the gateway sends to a client without a counsellor writing it. It must
// tell no one anything the signer does not already know: it is built only for a message whose signature is valid
// (the thread's own key signed it, for this mailbox, from an address the key claims, recently), only encrypted to
// that same key and signed by the mailbox's gateway key, never in plain. Its text is the administrator's fixed
// text: nothing of the client's message (no subject, no Message-ID, no quote) goes into it. It is queued in the
// import's own transaction, only when the message was newly stored (never for a duplicate or a replay), at most
// once per thread and period. Reasoning: docs/security.md, "Receipts".

import Foundation
import PGPShim
import ThreadStore

/// Builds the signed, encrypted acknowledgement (issue 17) for a validly signed message, before the import's
/// transaction, and queues it inside that transaction.
///
/// ```swift
/// let receipt = try await ReceiptFactory(pgp: pgp, mailbox: mailbox, time: time, outbox: outbox).prepare(…)
/// let step = ClientMessageImport(…, receipt: receipt?.plan)   // queued by the import if due
/// let done = try await threads.importFromClient(step)
/// ```
struct ReceiptFactory: Sendable {
    let pgp: PGPService
    let mailbox: PipelineMailbox
    let time: Date
    let outbox: Outbox

    /// A receipt encrypted and signed, waiting for the import's transaction.
    struct Prepared: Sendable {
        let recipient: ClientAddress
        let payload: [UInt8]
        let period: TimeInterval
        let time: Date
        let outbox: Outbox

        /// The receipt as the import queues it (``InboundStore/importFromClient(_:)``): only for a valid verdict
        /// and a newly stored message, unless one was queued in the thread within the period.
        var plan: ReceiptPlan { ReceiptPlan(recipient: recipient, payload: payload, period: period, time: time) }
    }

    /// The receipt for a message, or nil when none is due: receipts off (`period` nil), a verdict other than
    /// ``SignatureVerdictCode/valid``, a signer other than the thread's key, a message an auto-responder must not
    /// answer (RFC 3834: null sender, `Auto-Submitted`, lists, our own addresses), or a client key that cannot
    /// encrypt now. The transaction must still check the final verdict and that the message was newly stored.
    func prepare(period: TimeInterval?, verdict: SignatureVerdictCode, signer: KeyFingerprint?,
                 threadKey: KeyFingerprint, client: EmailAddress, envelopeSender: EmailAddress?,
                 headers: MIMEHeaders, ownAddresses: [EmailAddress]) async throws -> Prepared? {
        guard let period, verdict == .valid, signer == threadKey,
            case .send = AutoReplyPolicy.decide(envelopeSender: envelopeSender, headers: headers,
                                                ownAddresses: ownAddresses)
        else { return nil }
        guard let key = try await pgp.key(threadKey), key.isUsableForEncryption else { return nil }
        let messageID = try OutgoingMessageID(domain: mailbox.address.domain)
        // No In-Reply-To: the client's Message-ID is not repeated, inside or outside the encryption.
        let inner = try ProtectedHeadersPart(
            subject: mailbox.receiptTemplate.subject, from: mailbox.address, to: [client], date: time,
            messageID: messageID, body: mailbox.receiptTemplate.body
        ).render()
        let ciphertext: [UInt8]
        do {
            ciphertext = try await pgp.encrypt(inner, to: [threadKey], signer: mailbox.gatewayKey)
        } catch let error as PGPError where error.code == .keyUnusable || error.code == .keyNotFound {
            return nil  // the key changed since the check: no receipt, and never a plain one
        }
        var mail = PGPMIMEMail(from: mailbox.address, to: [client], date: time, messageID: messageID,
                               payload: try ArmoredMessage(ciphertext), autocrypt: mailbox.autocrypt)
        mail.autoReplied = true
        return Prepared(recipient: try ClientAddress(client),
                        payload: try EncryptedOutgoingMail(mail).bytes, period: period, time: time, outbox: outbox)
    }
}
