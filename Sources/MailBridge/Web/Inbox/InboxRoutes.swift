// Security: the browser-facing inbox routes. Untrusted input: path parameters (validated as 128-bit hex IDs and
// small integers before any lookup), query parameters (fixed state and assignment lists, cursors, fixed notice
// codes) and URL-encoded form bodies (collected with a size cap; reply text goes only to ReplyComposer). Every
// route needs a browser session (`WebAuthentication.session`); state-changing routes are POST only and carry the
// session's CSRF token, which the authentication side's CSRF middleware checks before these handlers run. Errors
// become fixed pages; nothing from the request or the mail is echoed except through HTML escaping, and logs get
// codes only.

import Foundation
import Hummingbird
import Logging
import NIOCore
import ThreadStore

/// The HTML pages of the web inbox (issue 8).
struct InboxRoutes: Sendable {
    let services: WebServices
    var inbox: CounsellorInbox { CounsellorInbox(services: services) }

    /// Largest form body other than a reply.
    static let maximumFormBytes = 4 << 10
    /// Largest reply form body: the reply limit, percent-encoded (3 octets per octet), plus the other fields.
    static let maximumReplyFormBytes = 3 * ReplyComposer.maximumTextBytes + (4 << 10)
    /// Threads per list page.
    static let pageSize = 50

    func register(on router: Router<WebRequestContext>) {
        router.get("/") { _, context in
            // An administrator who reads no thread starts on its organisation's accounts.
            if let counsellor = context.counsellor, counsellor.administers, !counsellor.readsThreads {
                return WebResponses.redirect(OrganisationAdminRoutes.accountsPath)
            }
            return WebResponses.redirect("/threads")
        }
        router.get(RouterPath(stringLiteral: InboxStylesheet.path)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: InboxStylesheet.css)))
        }
        // Browsers ask for it on every page; no icon, but no 404 either.
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/threads") { request, context in
            await page(request, context) { chrome in try await list(request, chrome) }
        }
        router.get("/threads/{id}") { request, context in
            await page(request, context) { chrome in try await thread(request, context, chrome) }
        }
        router.post("/threads/{id}/reply") { request, context in
            await page(request, context) { chrome in try await reply(request, context, chrome) }
        }
        router.post("/threads/{id}/state") { request, context in
            await page(request, context) { chrome in try await changeState(request, context, chrome) }
        }
        router.post("/threads/{id}/assignment") { request, context in
            await page(request, context) { chrome in try await assign(request, context, chrome) }
        }
        router.post("/threads/{id}/key-change") { request, context in
            await page(request, context) { chrome in
                let id = try threadID(context)
                try await inbox.confirmKeyChange(id, for: chrome.counsellor)
                return WebResponses.redirect(back(id, .keyChangeConfirmed))
            }
        }
        router.get("/threads/{id}/delete") { request, context in
            await page(request, context) { chrome in
                let thread = try await inbox.summary(try threadID(context), for: chrome.counsellor)
                guard chrome.counsellor.role == .teamLead else { throw CounsellorInbox.Failure(.forbidden) }
                return WebResponses.html(InboxPages.confirmDelete(chrome, thread: thread))
            }
        }
        router.post("/threads/{id}/delete") { request, context in
            await page(request, context) { chrome in try await delete(request, context, chrome) }
        }
        router.get("/threads/{id}/messages/{message}/attachments/{position}") { request, context in
            await page(request, context) { chrome in
                let (id, message, position) = try messagePath(context, "position")
                let attachment = try await inbox.attachment(id, message: message, position: position,
                                                            for: chrome.counsellor)
                return WebResponses.download(attachment.content, fileName: attachment.name)
            }
        }
        router.get("/threads/{id}/messages/{message}/parts/{index}") { request, context in
            await page(request, context) { chrome in
                let (id, message, index) = try messagePath(context, "index")
                let content = try await inbox.withheldPart(id, message: message, index: index, for: chrome.counsellor)
                return WebResponses.download(content, fileName: "part-\(index).bin")
            }
        }
    }

    // MARK: Handlers

    private func list(_ request: Request, _ chrome: PageChrome) async throws -> Response {
        let query = request.uri.queryParameters
        var filter: InboxState?
        if let text = query.get("state"), !text.isEmpty {
            guard let state = InboxState(rawValue: text) else { throw CounsellorInbox.Failure(.invalid) }
            filter = state
        }
        var assignment: InboxAssignmentFilter?
        switch query.get("assigned") {
        case nil, "": break
        case "me": assignment = .assignedTo(chrome.counsellor.id)
        case "none": assignment = .unassigned
        default: throw CounsellorInbox.Failure(.invalid)
        }
        // Who has waited longest comes first, except among closed threads (issue 22).
        var order = InboxPages.defaultOrder(filter)
        if let text = query.get("order"), !text.isEmpty {
            guard let parsed = InboxOrder(rawValue: text) else { throw CounsellorInbox.Failure(.invalid) }
            order = parsed
        }
        var cursor: InboxCursor?
        if let text = query.get("after") {
            guard let parsed = InboxCursor(text) else { throw CounsellorInbox.Failure(.invalid) }
            cursor = parsed
        }
        // One more than a page tells whether there is a next page.
        var threads = try await inbox.list(for: chrome.counsellor, state: filter, assignment: assignment,
                                           order: order, limit: Self.pageSize + 1, after: cursor)
        var next: InboxCursor?
        if threads.count > Self.pageSize {
            threads.removeLast()
            next = threads.last.map { InboxCursor(after: $0, order: order) }
        }
        let names = try await displayNames(Set(threads.compactMap(\.assignedTo)))
        return WebResponses.html(InboxPages.list(chrome, threads: threads, filter: filter, assignment: assignment,
                                                 order: order, next: next, names: names, notice: notice(request)))
    }

    private func thread(_ request: Request, _ context: WebRequestContext, _ chrome: PageChrome) async throws
        -> Response
    {
        let id = try threadID(context)
        let anchor: MessagePageRequest.Anchor
        do {
            anchor = try MessagePaging.anchor(request.uri.queryParameters)
        } catch {
            throw CounsellorInbox.Failure(.invalid)
        }
        let view = try await inbox.open(id, for: chrome.counsellor, page: MessagePageRequest(anchor))
        // Links to other threads of a key change only where the account may open them.
        var accessible = Set<ThreadID>()
        for other in view.keyChange?.otherThreads ?? [] {
            if (try? await inbox.summary(other.id, for: chrome.counsellor)) != nil { accessible.insert(other.id) }
        }
        let authors = view.messages.compactMap { $0.delivery?.author }
        let names = try await displayNames(Set([view.thread.assignedTo].compactMap { $0 } + authors))
        let assignable = chrome.counsellor.role == .teamLead
            ? try await inbox.assignableAccounts(for: view.thread) : nil
        // Whether a reply written now would be held (issue 17); unknown (engine trouble) shows the usual form.
        let heldReason = try? await services.replies.heldReason(thread: id)
        return WebResponses.html(InboxPages.thread(chrome, view: view, accessible: accessible, names: names,
                                                   assignable: assignable, notice: notice(request),
                                                   heldReason: heldReason ?? nil))
    }

    private struct ReplyForm: Decodable { var text: String }
    private struct StateForm: Decodable { var state: String }
    private struct AssignmentForm: Decodable { var assignee: String }
    private struct DeleteForm: Decodable { var confirm: String? }

    private func reply(_ request: Request, _ context: WebRequestContext, _ chrome: PageChrome) async throws
        -> Response
    {
        let id = try threadID(context)
        let form = try await decodeForm(ReplyForm.self, request, limit: Self.maximumReplyFormBytes)
        // Browsers send CRLF line ends from a textarea (HTML §4.10.11); the reply builder writes its own.
        let text = form.text.replacingOccurrences(of: "\r\n", with: "\n")
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CounsellorInbox.Failure(.invalid)
        }
        switch try await inbox.reply(id, text: text, for: chrome.counsellor) {
        case .queued: return WebResponses.redirect(back(id, .replyQueued))
        case .keyUnusable(let problem, _, _): return WebResponses.redirect(back(id, .replyKeyUnusable(problem)))
        }
    }

    private func changeState(_ request: Request, _ context: WebRequestContext, _ chrome: PageChrome) async throws
        -> Response
    {
        let id = try threadID(context)
        let form = try await decodeForm(StateForm.self, request, limit: Self.maximumFormBytes)
        let state: ThreadState
        switch form.state {
        case "open": state = .open
        case "closed": state = .closed
        default: throw CounsellorInbox.Failure(.invalid)
        }
        _ = try await inbox.setState(state, of: id, for: chrome.counsellor)
        return WebResponses.redirect(back(id, .stateChanged))
    }

    private func assign(_ request: Request, _ context: WebRequestContext, _ chrome: PageChrome) async throws
        -> Response
    {
        let id = try threadID(context)
        let form = try await decodeForm(AssignmentForm.self, request, limit: Self.maximumFormBytes)
        switch form.assignee {
        case "me":
            _ = try await inbox.assign(id, to: chrome.counsellor.id, for: chrome.counsellor)
            return WebResponses.redirect(back(id, .assigned))
        case "none":
            _ = try await inbox.assign(id, to: nil, for: chrome.counsellor)
            return WebResponses.redirect(back(id, .unassigned))
        default:
            // Team leads: an account ID from the select.
            guard let account = try? AccountID(form.assignee) else { throw CounsellorInbox.Failure(.invalid) }
            _ = try await inbox.assign(id, to: account, for: chrome.counsellor)
            return WebResponses.redirect(back(id, account == chrome.counsellor.id ? .assigned : .reassigned))
        }
    }

    private func delete(_ request: Request, _ context: WebRequestContext, _ chrome: PageChrome) async throws
        -> Response
    {
        let id = try threadID(context)
        let form = try await decodeForm(DeleteForm.self, request, limit: Self.maximumFormBytes)
        // Without the confirmation field (set only by the confirmation page) nothing is deleted.
        guard form.confirm == "yes" else { return WebResponses.redirect("/threads/\(id.unredactedDescription)/delete") }
        try await inbox.delete(id, for: chrome.counsellor)
        return WebResponses.redirect("/threads?notice=\(InboxNotice.deleted.code)")
    }

    // MARK: Helpers

    /// Runs `body` for a session-authenticated request and turns failures into fixed pages.
    private func page(_ request: Request, _ context: WebRequestContext,
                      _ body: (PageChrome) async throws -> Response) async -> Response {
        guard let chrome = PageChrome(context, timeZone: services.timeZone) else {
            return WebResponses.redirect(WebAuthNames.loginPath)
        }
        let strings = chrome.strings
        do {
            return try await body(chrome)
        } catch let failure as CounsellorInbox.Failure {
            switch failure.code {
            case .notFound:
                return WebResponses.html(InboxPages.error(chrome, strings: strings, title: strings.notFoundTitle,
                                                          text: strings.notFoundText), status: .notFound)
            case .forbidden:
                return WebResponses.html(InboxPages.error(chrome, strings: strings, title: strings.forbiddenTitle,
                                                          text: strings.onlyTeamLeads), status: .forbidden)
            case .invalid:
                return WebResponses.html(InboxPages.error(chrome, strings: strings, title: strings.badRequestTitle,
                                                          text: strings.badRequestText), status: .badRequest)
            }
        } catch is NIOTooManyBytesError {
            return WebResponses.html(InboxPages.error(chrome, strings: strings, title: strings.badRequestTitle,
                                                      text: strings.tooLargeText), status: .contentTooLarge)
        } catch {
            // The type only: error descriptions of lower layers are content-free by design, but this is the edge.
            services.logger.error("inbox request failed", metadata: ["error": "\(WebResponses.loggable(error))"])
            return WebResponses.html(InboxPages.error(chrome, strings: strings, title: strings.serverErrorTitle,
                                                      text: strings.serverErrorText), status: .internalServerError)
        }
    }

    private func decodeForm<Form: Decodable>(_ type: Form.Type, _ request: Request, limit: Int) async throws
        -> Form
    {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        do {
            return try URLEncodedFormDecoder().decode(Form.self, from: String(buffer: buffer))
        } catch {
            throw CounsellorInbox.Failure(.invalid)
        }
    }

    private func threadID(_ context: WebRequestContext) throws -> ThreadID {
        guard let text = context.parameters.get("id"), let id = try? ThreadID(text) else {
            throw CounsellorInbox.Failure(.notFound)
        }
        return id
    }

    private func messagePath(_ context: WebRequestContext, _ name: String) throws
        -> (ThreadID, StoredMessageID, Int)
    {
        guard let text = context.parameters.get("message"), let message = try? StoredMessageID(text),
            let numberText = context.parameters.get(name), numberText.utf8.count <= 4,
            let number = Int(numberText), number >= 0
        else { throw CounsellorInbox.Failure(.notFound) }
        return (try threadID(context), message, number)
    }

    private func notice(_ request: Request) -> InboxNotice? {
        request.uri.queryParameters.get("notice").flatMap(InboxNotice.init(code:))
    }

    private func back(_ id: ThreadID, _ notice: InboxNotice) -> String {
        "/threads/\(id.unredactedDescription)?notice=\(notice.code)"
    }

    private func displayNames(_ ids: Set<AccountID>) async throws -> [AccountID: String] {
        try await services.inbox.displayNames(of: ids)
    }
}
