// Security: keeps encrypted mail the pipeline rejected, as received (ciphertext, plus whatever outer headers the
// client's program wrote in clear), sealed in ThreadStore under a master-key-derived key; never any decrypted
// text. Nothing about it reaches the sender: the outcome is the same silence as before (issue 28, docs/security.md
// "Rejected encrypted mail").

import Foundation
import Logging
import NIOPosix
import ThreadStore

extension Pipeline {
    /// Largest rejected message kept (the store's body limit); a larger one is dropped as before, with a log line.
    static let maximumKeptRejectedBytes = 64 << 20

    /// Keeps `message` (rejected for `reason`) sealed in the store, for `[retention] rejected-days`. Throws on a
    /// store failure, so the message stays in the spool and the runner tries again (the pipeline is idempotent
    /// for a rejected message: keeping the same queue ID twice adds nothing).
    func keepRejected(_ message: InboundMessage, _ reason: AcceptOutcome.RejectionReason) async throws {
        guard message.size <= min(Self.maximumKeptRejectedBytes, threads.limits.maximumBodyBytes) else {
            logger.warning("rejected message too large to keep", metadata: ["queue": "\(message.queueID)"])
            return
        }
        let path = message.spoolFile.path
        let bytes = try await NIOThreadPool.singleton.runIfActive {
            try POSIXFile.readAll(path, limit: Self.maximumKeptRejectedBytes)
        }
        let kept = RejectedMessage(id: message.queueID.rawValue, reason: reason.auditCode, rejectedAt: now(),
                                   envelope: try JSONEncoder().encode(EnvelopeRecord(message.envelope)),
                                   message: Data(bytes))
        if try await threads.keepRejected(kept) {
            metrics?.rejectedKept(reason)
            logger.notice("rejected encrypted message kept sealed; see `mailbridge spool list --rejected`",
                          metadata: ["queue": "\(message.queueID)", "reason": "\(reason.rawValue)"])
        }
    }
}

extension AcceptOutcome.RejectionReason {
    /// The stored code: the position in `allCases` + 1 (the audit code of `inboundEncryptedRejected`; cases are
    /// only ever appended, pinned by a test).
    var auditCode: Int { (Self.allCases.firstIndex(of: self) ?? -1) + 1 }

    /// The reason for a stored code; nil for a code this binary does not know.
    init?(auditCode: Int) {
        guard auditCode >= 1, auditCode <= Self.allCases.count else { return nil }
        self = Self.allCases[auditCode - 1]
    }
}
