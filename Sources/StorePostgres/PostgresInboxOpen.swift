// Security: opening a page of a thread on PostgreSQL in one statement (issue 21). The scope check is part of the
// statement: every other part reads or writes only when the thread is in the actor's fields, so a thread outside
// them returns no row, as a missing one. The audit row and the read marks are written by the same statement, in
// the caller's transaction, before anything is opened; rows leave the database sealed. Every value is a bound
// parameter; nothing is logged but SQLSTATE codes.

import Foundation
import Logging
import NIOCore
import PostgresNIO
import ThreadStore

/// A page of a thread as the open statement returned it, still sealed, after the statement wrote its audit row.
struct SealedInboxPage: Sendable {
    var thread: InboxThread
    var sealed: SealedInboxThread
    var messages: [Message]
    /// Messages (all, unread before this view) older and newer than the page.
    var earlier: (all: Int, unread: Int)
    var later: (all: Int, unread: Int)
    var keyChange: ClientKeyChange?
    var heldReplies: [StoredMessageID]

    struct Message: Sendable {
        var sealed: SealedInboxMessage
        var attachments: [SealedAttachmentInfo]
        var delivery: ReplyDelivery?
    }

    /// Counts and cursors around the page.
    var page: MessagePageInfo {
        MessagePageInfo.around(first: messages.first?.sealed.position, last: messages.last?.sealed.position,
                               earlier: earlier, later: later)
    }
}

extension PostgresThreadRows {
    /// Reads the page `request` of thread `id` if it is in `scope`, marks its messages read, sets the thread's first
    /// view and appends the audit row (`event`, item: the page's oldest message, count: its messages), all in one
    /// statement: what `requireInboxThread`, `sealedInboxThread`, `pageMessages`, `pageAttachments`,
    /// `deliveries`, `pageInfo`, `clientKeyChange`, `heldReplyIDs` and `recordThreadRead` did in 13 round trips.
    /// Each round trip between two processes costs more than the statements' work (BENCHMARKS.md, "Thread list
    /// and open on PostgreSQL"). All parts see the statement's one snapshot, taken before its writes, as the
    /// separate statements saw the rows before `recordThreadRead`.
    /// - Throws: ``ThreadStoreError/threadNotFound`` (missing, no data key, or outside `scope`).
    func openInboxPage(_ id: ThreadID, _ request: MessagePageRequest, scope: InboxScope, actor: AccountID,
                       channel: AuditChannel?, event: AuditEvent) async throws -> SealedInboxPage {
        let parameters = OpenInboxPageParameters(
            thread: id.unredactedDescription, everyField: scope.fields == nil,
            fields: (scope.fields ?? []).map(\.rawValue).sorted(), now: StoreTime.milliseconds(now),
            limit: Int64(request.limit), event: Int64(event.rawValue), actor: actor.unredactedDescription,
            channel: channel.map { Int64($0.storedCode) }, token: channel?.storedTokenID)
        let rows: AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow>
        do {
            switch request.anchor {
            case .newest:
                rows = try await connection.execute(OpenInboxPage<NewestPage>(parameters), logger: logger)
            case .before(let cursor):
                rows = try await connection.execute(
                    OpenInboxPage<PageBefore>(parameters, cursor: cursor), logger: logger)
            case .after(let cursor):
                rows = try await connection.execute(
                    OpenInboxPage<PageAfter>(parameters, cursor: cursor), logger: logger)
            }
        } catch {
            // A serialization failure is the transaction's, run again as it is; after any other failure the
            // statements are prepared again under new names (a failed preparation sticks to its name).
            if !PostgresDatabase.isRetryable(error) { OpenInboxPageSQL.retire() }
            throw error
        }
        var opened: SealedInboxPage?
        for try await row in rows {
            let row = row.makeRandomAccess()
            if opened == nil { opened = try Self.threadColumns(row, id) }
            if let message = try Self.messageColumns(row) { opened?.messages.append(message) }
        }
        guard let opened, scope.includes(opened.thread.summary.field) else { throw ThreadStoreError.threadNotFound }
        return opened
    }

    /// The thread's columns (the same in every row): list entry, sealed columns, counts around the page, key
    /// change and held replies.
    private static func threadColumns(_ row: PostgresRandomAccessRow, _ id: ThreadID) throws -> SealedInboxPage {
        // The audit row is in the transaction before anything is opened (the InboxStore guarantee).
        guard try row["audited"].decode(Int64.self) == 1 else { throw ThreadStoreError.databaseCorrupt }
        let thread = try InboxThread.stored(
            id: id, field: try CounsellingField(try row["field"].decode(String.self)),
            stateCode: try row["state"].decode(Int.self), isNew: try row["is_new"].decode(Bool.self),
            createdAt: try row["created_at"].decode(Int64.self),
            lastActivityAt: try row["last_activity_at"].decode(Int64.self),
            messageCount: Int(try row["message_count"].decode(Int64.self)),
            unreadCount: Int(try row["unread_count"].decode(Int64.self)),
            assignedTo: try row["assigned_to"].decode(String?.self).map { try AccountID($0) },
            firstViewedAt: try row["first_viewed_at"].decode(Int64?.self),
            waitingSince: try row["waiting_since"].decode(Int64?.self))
        let others = zip(try row["other_ids"].decode([String].self), try row["other_created"].decode([Int64].self))
        return SealedInboxPage(
            thread: thread,
            sealed: SealedInboxThread(
                clientKeySealed: try row["client_key_sealed"].decode(Data.self),
                clientAddressSealed: try row["client_address_sealed"].decode(Data.self),
                awaitingKey: try row["awaiting_key"].decode(Bool.self),
                wrappedKey: try row["wrapped_key"].decode(Data.self)),
            messages: [],
            earlier: (Int(try row["earlier_count"].decode(Int64.self)),
                      Int(try row["earlier_unread"].decode(Int64.self))),
            later: (Int(try row["later_count"].decode(Int64.self)), Int(try row["later_unread"].decode(Int64.self))),
            keyChange: ClientKeyChange.of(
                id, createdAt: try row["created_at"].decode(Int64.self),
                others: try others.map { other, created in (try ThreadID(other), created) },
                confirmedAt: try row["key_change_confirmed_at"].decode(Int64?.self)),
            heldReplies: try row["held_ids"].decode([String].self).map { try StoredMessageID($0) })
    }

    /// The message of a row, nil in the one row of a thread without messages.
    private static func messageColumns(_ row: PostgresRandomAccessRow) throws -> SealedInboxPage.Message? {
        guard let id = try row["message_id"].decode(String?.self) else { return nil }
        guard let direction = MessageDirection(rawValue: try row["direction"].decode(Int.self)),
            let verdict = SignatureVerdictCode(rawValue: try row["verdict"].decode(Int.self))
        else { throw ThreadStoreError.databaseCorrupt }
        let message = try StoredMessageID(id)
        var attachments: [SealedAttachmentInfo] = []
        if let positions = try row["positions"].decode([Int64]?.self) {
            let sizes = try row["sizes"].decode([Int64].self)
            let names = try row["names"].decode([ByteBuffer].self)
            let mediaTypes = try row["media_types"].decode([ByteBuffer].self)
            guard sizes.count == positions.count, names.count == positions.count,
                mediaTypes.count == positions.count
            else { throw ThreadStoreError.databaseCorrupt }
            attachments = positions.indices.map { index in
                SealedAttachmentInfo(position: Int(positions[index]), size: Int(sizes[index]),
                                     nameSealed: Data(names[index].readableBytesView),
                                     mediaTypeSealed: Data(mediaTypes[index].readableBytesView))
            }
        }
        var delivery: ReplyDelivery?
        if try row["has_delivery"].decode(Bool.self) {
            delivery = ReplyDelivery.stored(
                author: try row["author_id"].decode(String?.self).map { try AccountID($0) },
                stateCode: try row["delivery_state"].decode(Int?.self),
                held: try row["delivery_held"].decode(Bool.self))
        }
        return SealedInboxPage.Message(
            sealed: SealedInboxMessage(
                id: message, direction: direction, verdict: verdict,
                receivedAt: try row["received_at"].decode(Int64.self), isRead: try row["is_read"].decode(Bool.self),
                subjectSealed: try row["subject_sealed"].decode(Data.self),
                bodySealed: try row["body_sealed"].decode(Data.self),
                signerSealed: try row["signer_sealed"].decode(Data?.self)),
            attachments: attachments, delivery: delivery)
    }
}
