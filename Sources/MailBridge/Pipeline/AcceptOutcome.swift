public import ThreadStore

/// What ``Pipeline/accept(_:)`` did with one inbound message. Content-free: safe to log.
///
/// Whatever the outcome, the SMTP client already got its `250` before the pipeline ran, and no outcome of an
/// encrypted message sends anything to the sender, with one exception: an encrypted message imported into a
/// thread without key (issue 17) may queue the fixed key-request notice to its From address (rate-limited per
/// address; see docs/security.md, "Mail without a known key", for what that tells a sender).
public enum AcceptOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Decrypted and stored in a thread (new or existing); counsellors were notified.
    case imported(ThreadID, createdThread: Bool)
    /// The same message was stored before (a re-delivery, or a restart after the commit); nothing changed.
    case duplicate(ThreadID)
    /// Plain (or not cleanly encrypted) mail: the fixed redirect reply was queued; the content was dropped.
    case redirected
    /// Plain mail whose redirect was suppressed (RFC 3834 rules or the per-sender rate limit); content dropped.
    case redirectSuppressed(String)
    /// A delivery status notification (bounce) for mail the gateway sent: recorded, never answered.
    case deliveryReport
    /// Encrypted mail that did not decrypt, or that was refused after decryption. Nothing is sent to the sender.
    case rejectedEncrypted(RejectionReason)

    public enum RejectionReason: String, Sendable, Hashable, CaseIterable {
        case notForUs, integrityProtectionMissing, corrupted, unsupportedAlgorithm, tooLarge, notEncrypted
        case replayedCiphertext, noClientKey, malformedInnerMessage, invalidSender, noMailbox
        case nestedEncryption
        case ambiguousSigners
        /// Decrypted, but the store refuses it for a reason retrying cannot change (a body, attachment or
        /// attachment count over a store limit; issue 25). Its ciphertext is kept sealed; the team is told.
        case unstorable

        /// The reason code written to the audit log with ``AuditEvent/inboundEncryptedRejected``: an explicit
        /// number per case, never the case's position, so reordering or inserting cases cannot change the meaning
        /// of stored rows. A new case takes the next unused number (pinned by `StoredReasonCodeTests`).
        public var storedCode: Int {
            switch self {
            case .notForUs: 1
            case .integrityProtectionMissing: 2
            case .corrupted: 3
            case .unsupportedAlgorithm: 4
            case .tooLarge: 5
            case .notEncrypted: 6
            case .replayedCiphertext: 7
            case .noClientKey: 8
            case .malformedInnerMessage: 9
            case .invalidSender: 10
            case .noMailbox: 11
            case .nestedEncryption: 12
            case .ambiguousSigners: 13
            case .unstorable: 14
            }
        }
    }

    public var description: String {
        switch self {
        case .imported(let thread, let created): "imported(\(thread), new thread: \(created))"
        case .duplicate(let thread): "duplicate(\(thread))"
        case .redirected: "redirected"
        case .deliveryReport: "delivery-report"
        case .redirectSuppressed(let reason): "redirect-suppressed(\(reason))"
        case .rejectedEncrypted(let reason): "rejected-encrypted(\(reason.rawValue))"
        }
    }
}
