// Security: see ReplyComposer.swift and HeldReplyRelease.swift. Only opaque IDs and counts are logged.

import PGPShim
public import ThreadStore

extension ReplyComposer {
    /// After a counsellor confirmed the key change of `thread`: encrypts the replies held in it and in the earlier
    /// threads of the same address to its key and queues them (issue 17). Returns how many were queued.
    @discardableResult
    public func releaseHeldReplies(afterKeyChangeOf thread: ThreadID) async throws -> Int {
        let field = try await replies.replyBasis(thread).summary.field
        guard let mailbox = mailboxes.mailbox(forField: field) else { throw ReplyError(.noMailbox) }
        return try await HeldReplyRelease(replies: replies, pgp: pgp, outbox: outbox, logger: logger, now: now)
            .releaseAfterKeyChange(of: thread, mailbox: mailbox)
    }

    /// Why a reply written now in `thread` would be held (no key yet, or the key is missing, expired, revoked or
    /// unusable), or nil when it would be encrypted and sent. For the reply form's hint; decrypts the thread's
    /// identity only.
    public func heldReason(thread: ThreadID) async throws -> ReplyOutcome.KeyProblem? {
        guard let key = try await replies.replyBasis(thread).clientKey else { return .missing }
        return try await keyProblem(key)
    }
}
