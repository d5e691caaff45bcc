public import Foundation

extension WriteTransaction {
    /// Records what happened to an inbound message that left no content in the store (a redirect, a suppressed
    /// redirect, a rejected encrypted message). `reason` is a small code chosen by the caller, never content.
    public func recordInbound(_ event: AuditEvent, reason: Int? = nil) throws {
        guard [.inboundRedirected, .inboundRedirectSuppressed, .inboundEncryptedRejected].contains(event) else {
            throw ThreadStoreError(.invalidValue)
        }
        try AuditLog.append(db, at: now, event: event, count: reason)
    }

    /// Records that a reply in `thread` went out only as the content-free notice because the client key was
    /// unusable (``AuditEvent/replyKeyUnusable``).
    public func recordReplyKeyUnusable(in thread: ThreadID, reason: Int) throws {
        try requireThread(thread)
        try AuditLog.append(db, at: now, event: .replyKeyUnusable, thread: thread, count: reason)
    }

    /// Records what an account did on the counsellor side (issue 8): who (`actor`), which thread, what (`event`),
    /// and optional IDs/codes. Never content. Accepts only the counsellor-side events
    /// (``AuditEvent/threadViewed`` … ``AuditEvent/secondFactorEnrolled``, plus ``AuditEvent/threadDeleted`` and
    /// ``AuditEvent/threadStateChanged``).
    public func recordAccess(
        _ event: AuditEvent, actor: AccountID?, thread: ThreadID? = nil, itemID: String? = nil, count: Int? = nil
    ) throws {
        guard event.rawValue >= AuditEvent.threadViewed.rawValue || event == .threadDeleted
            || event == .threadStateChanged
        else { throw ThreadStoreError(.invalidValue) }
        try AuditLog.append(db, at: now, event: event, thread: thread, itemID: itemID, count: count, actor: actor,
                            channel: context.auditChannel)
    }
}
