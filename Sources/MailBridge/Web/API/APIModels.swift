import Foundation
import ThreadStore

/// The JSON shapes of API v1 (see ``OpenAPIDocument``). Field names are camelCase, enum values snake_case,
/// times RFC 3339 (UTC).
enum APIModels {
    struct ThreadSummary: Encodable {
        var id: String
        var field: String
        var state: String
        var createdAt: Date
        var lastActivityAt: Date
        var messageCount: Int
        var unreadCount: Int
        var assignedTo: String?
        /// When the oldest inbound message after the last counsellor message arrived; absent when answered.
        var waitingSince: Date?

        init(_ thread: InboxThread) {
            waitingSince = thread.waitingSince
            id = thread.id.unredactedDescription
            field = thread.summary.field.rawValue
            state = thread.state.rawValue
            createdAt = thread.summary.createdAt
            lastActivityAt = thread.summary.lastActivityAt
            messageCount = thread.summary.messageCount
            unreadCount = thread.summary.unreadCount
            assignedTo = thread.assignedTo?.unredactedDescription
        }
    }

    struct ThreadList: Encodable {
        var threads: [ThreadSummary]
        /// Pass as `cursor` for the next page; absent on the last page.
        var nextCursor: String?
    }

    struct Thread: Encodable {
        var thread: ThreadSummary
        /// Null for a thread without key (issue 17: no key to reply to yet; ``awaitingClientKey``).
        var clientKeyFingerprint: JSONNullable<String>
        var awaitingClientKey: Bool
        var keyChange: KeyChange?
        /// One page of messages, oldest first.
        var messages: [Message]
        var messagePage: MessagePage

        init(_ view: InboxThreadView) {
            thread = ThreadSummary(view.thread)
            clientKeyFingerprint = JSONNullable(view.clientKey?.unredactedDescription)
            awaitingClientKey = view.clientKey == nil
            keyChange = view.keyChange.map(KeyChange.init)
            let held = Set(view.heldReplies)
            messages = view.messages.map { Message($0, held: held.contains($0.id)) }
            messagePage = MessagePage(view.page)
        }
    }

    /// Where the returned messages stand in the thread.
    struct MessagePage: Encodable {
        var earlierCount: Int
        var earlierUnreadCount: Int
        var laterCount: Int
        var laterUnreadCount: Int
        /// Pass as `before` for the previous page; absent if there is none.
        var earlierCursor: String?
        /// Pass as `after` for the next page; absent if there is none.
        var laterCursor: String?

        init(_ page: MessagePageInfo) {
            earlierCount = page.earlierCount
            earlierUnreadCount = page.earlierUnreadCount
            laterCount = page.laterCount
            laterUnreadCount = page.laterUnreadCount
            earlierCursor = page.earlierCursor?.text
            laterCursor = page.laterCursor?.text
        }
    }

    struct KeyChange: Encodable {
        struct Other: Encodable {
            var id: String
            var createdAt: Date
            var earlier: Bool
        }

        var needsConfirmation: Bool
        var confirmedAt: Date?
        var otherThreads: [Other]

        init(_ change: ClientKeyChange) {
            needsConfirmation = change.needsConfirmation
            confirmedAt = change.confirmedAt
            otherThreads = change.otherThreads.map {
                Other(id: $0.id.unredactedDescription, createdAt: $0.createdAt, earlier: $0.isEarlier)
            }
        }
    }

    struct Message: Encodable {
        struct Withheld: Encodable {
            var index: Int
            var mediaType: String
            var size: Int
        }

        struct Attachment: Encodable {
            var position: Int
            var name: String
            var mediaType: String
            var size: Int
        }

        var id: String
        var direction: String
        var receivedAt: Date
        var subject: String
        /// Only for inbound messages: ``SignatureVerdictCode/stableName``.
        var signature: String?
        /// Who made the signature (inbound messages whose signing key is known): `fingerprint` and `userId`,
        /// cleaned (``ShownSigner``); `null` otherwise.
        var signer: JSONNullable<ShownSigner>
        /// Inbound messages with a signer: whether the signature covers `subject` (it came from the signed inner
        /// headers); false means the subject travelled outside the signature. Absent otherwise and for messages
        /// stored before this was recorded.
        var subjectSigned: Bool?
        /// The text/plain parts (and HTML-only parts converted to text), in order, separated by a blank line; a
        /// forwarded message framed with its From, Date and Subject. Never HTML.
        var text: String
        var withheldParts: [Withheld]
        var attachments: [Attachment]
        var wasRead: Bool
        /// Outbound only: the reply could not be encrypted and has not been sent; it waits for a usable client
        /// key (issue 17). Absent for inbound messages.
        var held: Bool?
        /// Outbound only (issue 22): the account that wrote the reply; absent when unknown (the command line, or a
        /// reply older than schema v17 without its audit entry).
        var authorId: String?
        /// Outbound only (issue 22): `queued`, `sent` (handed to the mail server), `held` or `failed`; absent when
        /// unknown (a reply older than schema v17).
        var delivery: String?

        init(_ message: InboxMessage, held: Bool = false) {
            self.held = message.direction == .outbound ? held : nil
            authorId = message.direction == .outbound ? message.delivery?.author?.unredactedDescription : nil
            delivery = message.direction == .outbound ? message.delivery?.state?.rawValue : nil
            id = message.id.unredactedDescription
            direction = message.direction == .inbound ? "inbound" : "outbound"
            receivedAt = message.receivedAt
            // Issue 25: every string from the mail is cleaned (DisplayText+Mail.swift); the store keeps the raw one.
            subject = DisplayText.subject(message.subject)
            signature = message.direction == .inbound ? message.verdict.stableName : nil
            signer = JSONNullable(message.direction == .inbound ? message.signer.map(ShownSigner.init) : nil)
            subjectSigned = message.direction == .inbound ? message.signer?.subjectSigned : nil
            let display = MessageDisplay(body: message.body)
            text = MessageDisplay.plainText(display.parts)
            withheldParts = MessageDisplay.downloads(display.parts).map {
                Withheld(index: $0.index, mediaType: DisplayText.mediaType($0.mediaType), size: $0.size)
            }
            attachments = message.attachments.map {
                Attachment(position: $0.position, name: DisplayText.fileName($0.name),
                           mediaType: DisplayText.mediaType($0.mediaType), size: $0.size)
            }
            wasRead = message.wasRead
        }
    }

    struct ReplyRequest: Decodable { var text: String }

    struct ReplyResult: Encodable {
        /// `queued` (encrypted to the client) or `key_unusable` (held, sealed, until a usable key arrives; only the
        /// content-free notice was sent).
        var outcome: String
        /// `missing`, `expired`, `revoked` or `unusable` when `outcome` is `key_unusable`.
        var keyProblem: String?
        var messageId: String
    }

    struct StateRequest: Decodable { var state: String }

    struct AssignmentRequest: Decodable { var assignedTo: String? }

    struct Problem: Encodable {
        var error: String
        var message: String
    }
}
