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
}
