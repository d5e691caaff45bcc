import ThreadStore

/// The name behind an audit entry's stored reason code (issue 22: `audit` prints reason names, not numbers), for
/// the events whose `count` is a reason or a state rather than a number of things. Nil for every other event, and
/// for a code this binary does not know (a newer binary wrote it): the number is printed then.
enum AuditReasonNames {
    static func name(event: AuditEvent, code: Int) -> String? {
        switch event {
        case .inboundEncryptedRejected:
            AcceptOutcome.RejectionReason.allCases.first { $0.storedCode == code }?.rawValue
        case .inboundRedirectSuppressed:
            // Pipeline.swift: 1 RFC 3834 rules, 2 the per-sender rate limit, 3 a delivery report, 100 unparseable.
            [1: "autoReplyRules", 2: "rateLimited", 3: "deliveryReport", 100: "unparseable"][code]
        case .replyKeyUnusable:
            ReplyOutcome.KeyProblem.allCases.first { $0.storedCode == code }?.rawValue
        case .replyHeld:
            HeldReplyProblem(rawValue: code).map { "\($0)" }
        case .threadStateChanged:
            ThreadState(rawValue: code).map { "\($0)" }
        default:
            nil
        }
    }
}
