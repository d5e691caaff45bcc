import Foundation
import ThreadStore

// Issue 23: a receipt is encrypted and signed before the import's transaction (ReceiptFactory), which then queues
// it at most once per thread and period. A client who writes several times a day got a receipt encrypted for
// every message, and all but the first were dropped: four of a signed message's six gpg starts (the receipt key's
// lookup, the recipient and signer lookups inside encryption, the encryption itself). The thread the message will
// join is known beforehand, so the rate limit is read first.
extension Pipeline {
    /// The receipt period to prepare a receipt with, or nil when none can be due: receipts are off, or the thread
    /// this message will join (the thread it answers, else the client's current thread, as the import's
    /// transaction chooses) recorded a receipt within the period. When a thread awaits this key (issue 17) and
    /// the message gives it (`givesAwaitedKey`), that thread changes in the transaction, so nothing is predicted.
    /// Reading a refusal early is safe: the recorded time only moves forward, so the transaction would refuse too;
    /// anything else it decides itself. On PostgreSQL nothing is predicted yet (``InboundStore``'s default).
    func receiptPeriodIfDue(identity: ClientIdentity, references: [String], givesAwaitedKey: Bool,
                            time: Date) async throws -> TimeInterval? {
        guard let period = configuration.receiptPeriod else { return nil }
        let due = try await threads.receiptMayBeDue(for: identity, references: references,
                                                    givesAwaitedKey: givesAwaitedKey, now: time, period: period)
        return due ? period : nil
    }
}
