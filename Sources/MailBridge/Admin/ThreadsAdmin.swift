import Foundation
public import Logging
import ThreadStore

/// `mailbridge threads list`, `thread show ID` and `reply ID --text-file F`.
public enum ThreadsAdmin {
    struct ListedThread: Encodable {
        var id: String
        var field: String
        var state: String
        var createdAt: Date
        var lastActivityAt: Date
        var messages: Int
        var unread: Int
    }

    /// With `[[organisation]]` (issue 29) the command line belongs to the installation's administrator (the
    /// association running the machine), who reads no organisation's content and writes no reply in its name:
    /// counsellors do that in the web inbox or through the API, each within its organisation.
    static func refuseContentToTheInstallation(_ installation: OpenedInstallation) throws {
        guard installation.configuration.organisationDirectory.isImplicit else {
            throw AdminUsageError("with [[organisation]] tables the command line opens no thread and writes no "
                + "reply: the organisation's counsellors do that in the web inbox or through the API")
        }
    }

    /// The threads listed per query (the store's largest page is larger).
    static let pageSize = 200

    /// Threads of one field (or of every configured field), most recent first. Metadata only. On either engine.
    public static func list(_ installation: OpenedInstallation, field: String?, json: Bool) async throws -> AdminResult {
        let fields: [CounsellingField]
        if let field {
            guard let parsed = try? CounsellingField(field) else { throw AdminUsageError("--field is not a field name") }
            fields = [parsed]
        } else {
            fields = installation.mailboxes.map(\.field)
        }
        var listed: [ListedThread] = []
        for field in fields {
            var cursor: InboxCursor?
            while true {
                let page = try await installation.stores.inbox.listInbox(
                    scope: InboxScope(fields: [field]), state: nil, assignment: nil, order: .lastActivity,
                    limit: pageSize, after: cursor)
                listed += page.map(\.summary).map {
                    ListedThread(id: $0.id.unredactedDescription, field: $0.field.unredactedDescription,
                                 state: "\($0.state)", createdAt: $0.createdAt, lastActivityAt: $0.lastActivityAt,
                                 messages: $0.messageCount, unread: $0.unreadCount)
                }
                guard page.count == pageSize, let last = page.last else { break }
                cursor = InboxCursor(after: last)
            }
        }
        if json { return AdminResult(output: try AdminSession.json(listed)) }
        let lines = listed.map {
            "\($0.id)  \($0.field)  \($0.state)  messages: \($0.messages)  unread: \($0.unread)  "
                + "last activity: \(ISO8601DateFormatter().string(from: $0.lastActivityAt))"
        }
        return AdminResult(output: lines.isEmpty ? "no threads" : lines.joined(separator: "\n"))
    }

    struct ShownMessage: Encodable {
        var id: String
        var direction: String
        var date: Date
        var subject: String
        /// ``SignatureVerdictCode/stableName``, as in the API.
        var signature: String
        /// Who made the signature, where the key is known (`fingerprint`, `userId`); `null` otherwise.
        var signer: JSONNullable<ShownSigner>
        var attachments: [String]
        var body: String
        /// Outbound only: not sent, waiting for a usable client key (issue 17).
        var held: Bool?
    }

    /// The decrypted messages of one thread, oldest first (bodies as the decrypted MIME text). This is the one
    /// command that prints content: it is for the administrator on the server. The read is audited as an export
    /// from the command line (``AuditEvent/threadExported``, no account) in the same transaction.
    ///
    /// The text output is framed so that content cannot imitate it: only a message's header line starts at column
    /// 0 (`--- inbound <time>  signature: <word>  signer: <fingerprint> "<user ID>"`); subject and attachment
    /// names follow on lines indented by two spaces, cleaned to one line each, and every body line is prefixed
    /// with `  | `. Controls (so no CR/LF and no terminal escape) and bidirectional overrides in content and in
    /// the user ID become U+FFFD (``DisplayText``).
    public static func show(_ installation: OpenedInstallation, id: String, json: Bool) async throws -> AdminResult {
        try refuseContentToTheInstallation(installation)
        let thread = try threadID(id)
        let opened = try await installation.stores.inbox.exportThread(thread, via: .commandLine)
        if json {
            let messages = opened.messages.map { message in
                ShownMessage(id: message.id.unredactedDescription, direction: "\(message.direction)",
                             date: message.receivedAt, subject: message.subject, signature: message.verdict.stableName,
                             signer: JSONNullable(message.signer.map(ShownSigner.init)),
                             attachments: message.attachments.map(\.name), body: readableText(message.body),
                             held: message.direction == .outbound ? opened.heldReplies.contains(message.id) : nil)
            }
            return AdminResult(output: try AdminSession.json(messages))
        }
        var text = "thread \(thread.unredactedDescription)  \(opened.summary.field.unredactedDescription)  "
            + "\(opened.summary.state)  client: \(DisplayText.line(opened.clientAddress.unredactedDescription))"
            + (opened.clientKey == nil ? "  no key to reply to yet" : "") + "\n"
        for message in opened.messages { text += framed(message, held: opened.heldReplies.contains(message.id)) }
        return AdminResult(output: text)
    }

    /// One message of `thread show`: a blank line, the header line at column 0, then indented content.
    static func framed(_ message: StoredMessage, held: Bool = false) -> String {
        var header = "--- \(message.direction) \(ISO8601DateFormatter().string(from: message.receivedAt))  "
            + "signature: \(message.verdict.stableName)"
        if held { header += "  held: waiting for a usable client key" }
        if let signer = message.signer.map(ShownSigner.init) {
            header += "  signer: \(signer.groupedFingerprint) \"\(quoted(signer.userID))\""
        }
        let unsigned = message.signer?.subjectSigned == false ? "  (subject not covered by the signature)" : ""
        var lines = ["", header, "  Subject: \(DisplayText.subject(message.subject))\(unsigned)"]
        lines += message.attachments.map { "  Attachment: \(DisplayText.fileName($0.name))" }
        lines += DisplayText.lines(readableText(message.body)).map { "  | \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `"` and `\` escaped, for a user ID between quotes (it is already one line).
    private static func quoted(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// Queues the text of `textFile` (UTF-8, at most ``ReplyComposer/maximumTextBytes``) as a counsellor reply.
    public static func reply(_ installation: OpenedInstallation, id: String, textFile: String,
                             logger: Logger) async throws -> AdminResult {
        try refuseContentToTheInstallation(installation)
        let thread = try threadID(id)
        guard let data = FileManager.default.contents(atPath: textFile), data.count <= ReplyComposer.maximumTextBytes,
            let text = String(data: data, encoding: .utf8), !text.isEmpty
        else { throw AdminUsageError("--text-file must be a readable, non-empty UTF-8 file of at most 1 MiB") }
        // The composer's outbox wakes the running daemon's queue, so it sends the reply now, not at its next poll.
        let outcome = try await installation.replyComposer(logger: logger)
            .queueReply(thread: thread, text: text, counsellor: nil, via: .commandLine)
        switch outcome {
        case .queued(let item, _):
            return AdminResult(output: "queued the encrypted reply (outbox item \(item.unredactedDescription))")
        case .keyUnusable(let problem, let item, _):
            return AdminResult(output: "the client key is \(problem.rawValue): the reply is held (sealed) until a "
                + "usable key arrives, and only the reply-waiting notice was queued (outbox item \(item.unredactedDescription))")
        }
    }

    /// The text the inbox shows (``MessageDisplay``): text parts in order, and a one-line note for each part that
    /// is not shown. Never a header block, never transfer-encoded content (raw MIME or base64).
    static func readableText(_ body: [UInt8]) -> String {
        MessageDisplay.plainText(MessageDisplay(body: body).parts) { mediaType, size in
            "[\(DisplayText.line(mediaType, limit: 100)), \(size) bytes: not shown]"
        }
    }

    private static func threadID(_ text: String) throws -> ThreadID {
        guard let id = try? ThreadID(text) else {
            throw AdminUsageError("a thread ID is 32 hex characters (see `mailbridge threads list`)")
        }
        return id
    }
}
