// Security: every counsellor-side content access of the web inbox and the JSON API goes through this type, so
// access control and the audit trail live in one place. Rules:
// - A thread of a field the account may not see is reported as not found (never "forbidden"), so IDs of other
//   fields cannot be probed.
// - Access check, audit entry and decryption happen in one store transaction: content is only returned after its
//   audit row is committed with it.
// - Audit entries carry the actor, thread and opaque IDs only, never content:
//   web thread page → `threadViewed`; API thread fetch → `threadExported` (the content goes to another system);
//   attachment → `attachmentDownloaded` (itemID message, count position); withheld body part (e.g. HTML) →
//   `threadExported` (itemID message, count part index); reply → `replyQueued` (+ `threadStateChanged`);
//   state → `threadStateChanged`; assignment → `threadAssigned`; deletion → `threadDeleted`;
//   key change → `clientKeyChangeConfirmed`.

public import Foundation
import Logging
public import ThreadStore

/// The counsellor-side operations on threads, with access control and auditing (issue 8).
///
/// ```swift
/// let inbox = CounsellorInbox(services: services)
/// let page = try await inbox.list(for: counsellor, state: .new)
/// let view = try await inbox.open(page[0].id, for: counsellor)      // audited, marks read
/// ```
public struct CounsellorInbox: Sendable {
    let services: WebServices

    /// Creates the inbox over the web services.
    public init(services: WebServices) { self.services = services }

    /// Why an inbox operation failed. Codes only; no content, no IDs.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Code: String, Sendable, Hashable {
            /// No such thread (message, attachment), or the account may not see it.
            case notFound
            /// The account may see the thread but not do this (e.g. a counsellor deleting).
            case forbidden
            /// The request is not valid (bad state, empty reply, nothing to confirm).
            case invalid
        }

        public let code: Code
        init(_ code: Code) { self.code = code }
        public var description: String { "CounsellorInbox.Failure(\(code.rawValue))" }
    }

    /// A page of threads the account may see, optionally only those in `state` and of an `assignment`.
    public func list(for counsellor: Counsellor, state: InboxState? = nil,
                     assignment: InboxAssignmentFilter? = nil, order: InboxOrder = .lastActivity, limit: Int = 50,
                     after cursor: InboxCursor? = nil) async throws -> [InboxThread] {
        try await services.inbox.listInbox(scope: counsellor.inboxScope, state: state, assignment: assignment,
                                           order: order, limit: limit, after: cursor)
    }

    /// Opens one page of a thread's messages for display (the newest by default; only that page is decrypted)
    /// and records the read (`event`: `threadViewed` for the web page, `threadExported` for the API): marks the
    /// page's messages read, ends "new", audits once (first message of the page, number shown) — one transaction.
    public func open(_ id: ThreadID, for counsellor: Counsellor, event: AuditEvent = .threadViewed,
                     page: MessagePageRequest = MessagePageRequest()) async throws -> InboxThreadView {
        guard (1...MessagePageRequest.maximumLimit).contains(page.limit) else { throw Failure(.invalid) }
        return try await Self.failing {
            try await services.inbox.openThread(id, page: page, by: counsellor.inboxActor, event: event)
        }
    }

    /// The list entry of a thread the account may see (no audit: metadata only).
    public func summary(_ id: ThreadID, for counsellor: Counsellor) async throws -> InboxThread {
        guard let thread = try await services.inbox.inboxThread(id, scope: counsellor.inboxScope) else {
            throw Failure(.notFound)
        }
        return thread
    }

    /// Decrypts one attachment and audits the download.
    public func attachment(_ id: ThreadID, message: StoredMessageID, position: Int,
                           for counsellor: Counsellor) async throws -> StoredAttachment {
        try await Self.failing {
            try await services.inbox.attachment(thread: id, message: message, position: position,
                                                by: counsellor.inboxActor)
        }
    }

    /// The octets of a body part the inbox does not display (e.g. HTML), audited as an export of that part.
    public func withheldPart(_ id: ThreadID, message: StoredMessageID, index: Int,
                             for counsellor: Counsellor) async throws -> [UInt8] {
        try await Self.failing {
            try await services.inbox.exportPart(thread: id, message: message, index: index,
                                                by: counsellor.inboxActor) { body in
                MessageDisplay.withheldContent(body, index: index)
            }
        }
    }

    /// Queues a reply (no quoting: `text` is sent as written) through the one outbound funnel; audited
    /// `replyQueued` with the actor in the reply's transaction.
    public func reply(_ id: ThreadID, text: String, for counsellor: Counsellor) async throws -> ReplyOutcome {
        _ = try await summary(id, for: counsellor)
        guard !text.isEmpty, text.utf8.count <= ReplyComposer.maximumTextBytes else { throw Failure(.invalid) }
        do {
            return try await services.replies.queueReply(thread: id, text: text, counsellor: nil,
                                                         actor: counsellor.id, via: counsellor.channel)
        } catch let error as ThreadStoreError where error.code == .threadNotFound {
            throw Failure(.notFound)  // deleted between the check and the reply
        } catch let error as ReplyError where error.code == .invalidText {
            throw Failure(.invalid)
        }
    }

    /// Sets the stored state (audited with the actor).
    public func setState(_ state: ThreadState, of id: ThreadID, for counsellor: Counsellor) async throws
        -> InboxThread
    {
        try await Self.failing { try await services.inbox.setState(state, of: id, by: counsellor.inboxActor) }
    }

    /// Assigns a thread. Counsellors may assign a thread only to themselves or unassign it; team leads may assign
    /// it to any active account that may see the thread's field.
    public func assign(_ id: ThreadID, to account: AccountID?, for counsellor: Counsellor) async throws
        -> InboxThread
    {
        if let account, account != counsellor.id, counsellor.role != .teamLead { throw Failure(.forbidden) }
        return try await Self.failing {
            try await services.inbox.assign(id, to: account, by: counsellor.inboxActor) { target, field in
                Counsellor(target, in: services.organisations)?.mayAccess(field) ?? false
            }
        }
    }

    /// The active accounts a team lead may assign `thread` to (those that may see its field), by display name.
    public func assignableAccounts(for thread: InboxThread) async throws -> [(id: AccountID, name: String)] {
        try await services.inbox.accounts()
            .filter {
                !$0.isDisabled && Counsellor($0, in: services.organisations)?.mayAccess(thread.summary.field) == true
            }
            .map { (id: $0.id, name: $0.displayName) }
            .sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
    }

    /// Confirms a client key change on the newer thread (audited).
    public func confirmKeyChange(_ id: ThreadID, for counsellor: Counsellor) async throws {
        try await Self.failing { try await services.inbox.confirmClientKeyChange(of: id, by: counsellor.inboxActor) }
        // The confirmed key is the client's: replies held for an earlier key of theirs go out now (issue 17). A
        // failure leaves them held; the confirmation stands.
        do {
            try await services.replies.releaseHeldReplies(afterKeyChangeOf: id)
        } catch {
            services.logger.error("held replies not released", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// Crypto-shreds a thread (team leads only; audited with the actor).
    public func delete(_ id: ThreadID, for counsellor: Counsellor) async throws {
        _ = try await summary(id, for: counsellor)
        guard counsellor.role == .teamLead else { throw Failure(.forbidden) }
        try await Self.failing { try await services.inbox.deleteThread(id, by: counsellor.inboxActor) }
        services.logger.info("thread deleted by a counsellor")
    }

    /// Runs `body`, turning the store's answers into the inbox's: a missing thread, message or attachment (or one
    /// outside the account's fields) is ``Failure/Code/notFound``, a refused value ``Failure/Code/invalid``.
    private static func failing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ThreadStoreError where error.code == .threadNotFound || error.code == .messageNotFound {
            throw Failure(.notFound)
        } catch let error as ThreadStoreError where error.code == .invalidValue {
            throw Failure(.invalid)
        }
    }
}

extension Counsellor {
    /// The fields the account may see in the inbox (every field for team leads).
    var inboxScope: InboxScope {
        switch (role, reach) {
        case (.teamLead, .everyField): .everyField
        case (.teamLead, .fields(let owned)): InboxScope(fields: owned)
        case (.counsellor, _): InboxScope(fields: fields.filter(reach.contains))
        }
    }

    /// The account as an inbox operation's actor.
    var inboxActor: InboxActor { InboxActor(account: id, channel: channel, scope: inboxScope) }
}
