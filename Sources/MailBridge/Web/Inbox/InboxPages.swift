// Security: renders the inbox pages. Every value goes through `HTML` interpolation (escaped). Mail content is
// shown only inside `<pre class="mail-text">` blocks of the message area; the signature verdict, notices and
// warnings are written by this page chrome outside that area, so mail content cannot imitate them in place.
// Forms carry the session's CSRF token as a hidden field. No scripts, no inline styles, no external resources
// (the CSP forbids them anyway).

import Foundation
import ThreadStore

/// What every page needs: language, account, CSRF token.
struct PageChrome {
    let strings: InboxStrings
    let counsellor: Counsellor
    let csrfToken: String
    /// Where times are shown (`[web] time-zone`).
    var timeZone: TimeZone = .current

    init(strings: InboxStrings, counsellor: Counsellor, csrfToken: String, timeZone: TimeZone = .current) {
        self.strings = strings
        self.counsellor = counsellor
        self.csrfToken = csrfToken
        self.timeZone = timeZone
    }

    /// The frame of a browser-session request, in the account's language; nil for API tokens and anonymous ones.
    init?(_ context: WebRequestContext, timeZone: TimeZone) {
        guard let counsellor = context.counsellor, case .session(let csrfToken) = context.authentication else {
            return nil
        }
        self.init(strings: .for(counsellor.language), counsellor: counsellor, csrfToken: csrfToken,
                  timeZone: timeZone)
    }

    var csrfField: HTML {
        "<input type=\"hidden\" name=\"\(WebAuthNames.csrfField)\" value=\"\(csrfToken)\">"
    }

    func date(_ date: Date) -> HTML {
        let iso = ISO8601DateFormatter().string(from: date)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: strings.language == .german ? "de_DE" : "en_GB")
        formatter.timeZone = timeZone
        formatter.dateFormat = strings.language == .german ? "dd.MM.yyyy, HH:mm" : "d MMM yyyy, HH:mm"
        return "<time datetime=\"\(iso)\">\(formatter.string(from: date))</time>"
    }

    /// A short, readable form of a thread ID (the first 8 hex digits); the full ID is in the link.
    func shortID(_ id: ThreadID) -> String { String(id.unredactedDescription.prefix(8)) }

    func threadURL(_ id: ThreadID) -> String { "/threads/\(id.unredactedDescription)" }

    func assignee(_ account: AccountID?, names: [AccountID: String]) -> String {
        guard let account else { return strings.nobody }
        if account == counsellor.id { return counsellor.displayName }
        return names[account] ?? String(account.unredactedDescription.prefix(8))
    }
}

enum InboxPages {
    /// The page frame: language, landmarks, skip link, header with account and logout, notice area.
    static func layout(_ chrome: PageChrome, title: String, notice: InboxNotice? = nil, main: HTML) -> HTML {
        let strings = chrome.strings
        var noticeHTML = HTML.empty
        if let notice {
            let kind = if case .replyKeyUnusable = notice { "notice notice-warning" } else { "notice" }
            noticeHTML = "<div class=\"\(kind)\" role=\"status\">\(strings.notice(notice))</div>"
        }
        let administration: HTML = chrome.counsellor.administers
            ? "\n<li><a href=\"\(OrganisationAdminRoutes.accountsPath)\">\(strings.adminNavigation)</a></li>" : .empty
        return """
            <!DOCTYPE html>
            <html lang="\(strings.language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <title>\(title) – \(strings.appName)</title>
            <link rel="stylesheet" href="/static/app.css">
            </head>
            <body>
            <a class="skip-link" href="#main">\(strings.skipToContent)</a>
            <header class="site-header">
            <p class="app-name">\(strings.appName)</p>
            <nav aria-label="\(strings.mainNavigation)"><ul>
            <li><a href="/threads">\(strings.inbox)</a></li>
            <li><a href="\(WebAuthNames.passwordPath)">\(strings.passwordNavigation)</a></li>
            <li><a href="\(NotificationSettingsRoutes.path)">\(strings.notificationNavigation)</a></li>\(administration)
            </ul></nav>
            <div class="account">\(strings.loggedInAs) \
            <span class="account-name">\(chrome.counsellor.displayName)</span>
            <form method="post" action="\(WebAuthNames.logoutPath)" class="inline-form">\(chrome.csrfField)\
            <button type="submit">\(strings.logout)</button></form>
            </div>
            </header>
            <main id="main" tabindex="-1">
            \(noticeHTML)
            \(main)
            </main>
            </body>
            </html>

            """
    }

    // MARK: List

    /// The list's order when none is asked for: waiting threads first, except for closed threads (last activity).
    static func defaultOrder(_ filter: InboxState?) -> InboxOrder {
        filter == .closed ? .lastActivity : .waitingFirst
    }

    static func list(_ chrome: PageChrome, threads: [InboxThread], filter: InboxState?,
                     assignment: InboxAssignmentFilter? = nil, order: InboxOrder = .waitingFirst, now: Date = Date(),
                     next: InboxCursor?, names: [AccountID: String], notice: InboxNotice?) -> HTML {
        let strings = chrome.strings
        let orderOptions = HTML(joining: [(InboxOrder.waitingFirst, strings.orderWaitingFirst),
                                          (.lastActivity, strings.orderLastActivity),
                                          (.longestWaiting, strings.orderLongestWaiting)].map { value, label -> HTML in
            "<option value=\"\(value.rawValue)\"\(order == value ? " selected" : "")>\(label)</option>"
        })
        let all: HTML = "<option value=\"\"\(filter == nil ? " selected" : "")>\(strings.filterAll)</option>"
        let options = HTML(joining: [all] + InboxState.allCases.map { state -> HTML in
            "<option value=\"\(state.rawValue)\"\(filter == state ? " selected" : "")>\(strings.state(state))</option>"
        })
        // The assignment filter's query value: "me" (the account itself), "none" or "" (all).
        let assigned = switch assignment {
        case .assignedTo: "me"
        case .unassigned: "none"
        case nil: ""
        }
        let assignmentOptions = HTML(joining: [("", strings.filterAll), ("me", strings.filterAssignedToMe),
                                               ("none", strings.filterUnassigned)].map { value, label -> HTML in
            "<option value=\"\(value)\"\(assigned == value ? " selected" : "")>\(label)</option>"
        })
        let rows = threads.map { thread -> HTML in
            let summary = thread.summary
            let unread: HTML = summary.unreadCount > 0
                ? "<strong>\(summary.unreadCount)</strong>" : "\(summary.unreadCount)"
            return """
                <tr class="state-\(thread.state.rawValue)">
                <th scope="row"><a href="\(chrome.threadURL(thread.id))">#\(chrome.shortID(thread.id))</a></th>
                <td data-label="\(strings.fieldColumn)">\(summary.field.rawValue)</td>
                <td data-label="\(strings.stateColumn)">\
                <span class="badge badge-\(thread.state.rawValue)">\(strings.state(thread.state))</span></td>
                <td class="number" data-label="\(strings.unreadColumn)">\(unread)</td>
                <td class="number" data-label="\(strings.messagesColumn)">\(summary.messageCount)</td>
                <td data-label="\(strings.lastActivityColumn)">\(chrome.date(summary.lastActivityAt))</td>
                <td data-label="\(strings.assigneeColumn)">\(chrome.assignee(thread.assignedTo, names: names))</td>
                <td class="number waiting" data-label="\(strings.waitingColumn)">\
                \(WaitingTime.text(since: thread.waitingSince, now: now, language: strings.language))</td>
                </tr>

                """
        }
        let table: HTML = threads.isEmpty
            ? "<p>\(strings.noThreads)</p>"
            : """
                <table class="threads">
                <caption>\(strings.listCaption)</caption>
                <thead><tr>
                <th scope="col">\(strings.threadColumn)</th><th scope="col">\(strings.fieldColumn)</th>
                <th scope="col">\(strings.stateColumn)</th><th scope="col">\(strings.unreadColumn)</th>
                <th scope="col">\(strings.messagesColumn)</th><th scope="col">\(strings.lastActivityColumn)</th>
                <th scope="col">\(strings.assigneeColumn)</th>
                <th scope="col" title="\(strings.waitingExplanation)">\(strings.waitingColumn)</th>
                </tr></thead>
                <tbody>
                \(rows)</tbody>
                </table>
                """
        var pager = HTML.empty
        if let next {
            var query = "after=\(next.text)"
            if let filter { query += "&state=\(filter.rawValue)" }
            if !assigned.isEmpty { query += "&assigned=\(assigned)" }
            if order != defaultOrder(filter) { query += "&order=\(order.rawValue)" }
            pager = "<p class=\"pager\"><a href=\"/threads?\(query)\" rel=\"next\">\(strings.nextPage)</a></p>"
        }
        let main: HTML = """
            <h1>\(strings.threadsHeading)</h1>
            <form method="get" action="/threads" class="filter">
            <label for="state-filter">\(strings.filterLabel)</label>
            <select id="state-filter" name="state">\(options)</select>
            <label for="assigned-filter">\(strings.assignmentFilterLabel)</label>
            <select id="assigned-filter" name="assigned">\(assignmentOptions)</select>
            <label for="order-select">\(strings.orderLabel)</label>
            <select id="order-select" name="order">\(orderOptions)</select>
            <button type="submit">\(strings.filterApply)</button>
            </form>
            \(table)
            \(pager)
            """
        return layout(chrome, title: strings.threadsHeading, notice: notice, main: main)
    }

    // MARK: Thread

    /// `assignable`: for team leads, the accounts the thread can be assigned to (a select instead of the button).
    static func thread(_ chrome: PageChrome, view: InboxThreadView, accessible: Set<ThreadID>,
                       names: [AccountID: String], assignable: [(id: AccountID, name: String)]? = nil,
                       notice: InboxNotice?, heldReason: ReplyOutcome.KeyProblem? = nil) -> HTML {
        let strings = chrome.strings
        let thread = view.thread
        let base = chrome.threadURL(thread.id)
        // A thread without key (issue 17) has no fingerprint to show, and no signer can be its key.
        let shownKey: HTML = view.clientKey.map { clientKey($0, messages: view.messages) }
            ?? "<span class=\"badge badge-held\">\(strings.noClientKeyYet)</span>"
        let held = Set(view.heldReplies)

        let keyChangeConfirmed = view.keyChange?.confirmedAt != nil
        let messages = view.messages.map {
            message(chrome, $0, base: base, clientKey: view.clientKey, keyChangeConfirmed: keyChangeConfirmed,
                    held: held.contains($0.id), names: names)
        }
        let (pagerTop, pagerBottom) = messagePager(chrome, view, base: base)

        var keyChange = HTML.empty
        if let change = view.keyChange {
            keyChange = keyChangeSection(chrome, change, base: base, accessible: accessible)
        }

        let isMine = thread.assignedTo == chrome.counsellor.id
        var assignForm: HTML = """
            <form method="post" action="\(base)/assignment">\(chrome.csrfField)
            <input type="hidden" name="assignee" value="\(isMine ? "none" : "me")">
            <button type="submit">\(isMine ? strings.unassign : strings.assignToMe)</button>
            </form>
            """
        if let assignable {
            let unassigned = thread.assignedTo == nil ? " selected" : ""
            let none: HTML = "<option value=\"none\"\(unassigned)>\(strings.nobody)</option>"
            let options = [none] + assignable.map { account -> HTML in
                let selected = thread.assignedTo == account.id ? " selected" : ""
                return "<option value=\"\(account.id.unredactedDescription)\"\(selected)>\(account.name)</option>"
            }
            assignForm = """
                <form method="post" action="\(base)/assignment" class="assign-form">\(chrome.csrfField)
                <label for="assignee">\(strings.assignTo)</label>
                <select id="assignee" name="assignee">\(options)</select>
                <button type="submit">\(strings.assign)</button>
                </form>
                """
        }
        let closed = thread.state == .closed
        let stateForm: HTML = """
            <form method="post" action="\(base)/state">\(chrome.csrfField)
            <input type="hidden" name="state" value="\(closed ? "open" : "closed")">
            <button type="submit">\(closed ? strings.reopen : strings.close)</button>
            </form>
            """
        let deleteLink: HTML = chrome.counsellor.role == .teamLead
            ? "<a class=\"button danger\" href=\"\(base)/delete\">\(strings.delete)</a>" : .empty

        let main: HTML = """
            <p><a href="/threads">← \(strings.backToList)</a></p>
            <h1>\(strings.threadHeading) #\(chrome.shortID(thread.id))</h1>
            <section aria-labelledby="details-heading" class="details">
            <h2 id="details-heading">\(strings.detailsHeading)</h2>
            <dl>
            <dt>\(strings.fieldColumn)</dt><dd>\(thread.summary.field.rawValue)</dd>
            <dt>\(strings.stateColumn)</dt>\
            <dd><span class="badge badge-\(thread.state.rawValue)">\(strings.state(thread.state))</span></dd>
            <dt>\(strings.assigneeColumn)</dt><dd>\(chrome.assignee(thread.assignedTo, names: names))</dd>
            <dt>\(strings.created)</dt><dd>\(chrome.date(thread.summary.createdAt))</dd>
            <dt>\(strings.clientKey)</dt><dd>\(shownKey)</dd>
            </dl>
            </section>
            \(keyChange)
            <section aria-labelledby="actions-heading" class="actions">
            <h2 id="actions-heading">\(strings.actionsHeading)</h2>
            <div class="action-row">\(assignForm)\(stateForm)\(deleteLink)</div>
            </section>
            <section aria-labelledby="messages-heading">
            <h2 id="messages-heading">\(strings.messagesHeading)</h2>
            \(pagerTop)
            <ol class="messages">
            \(messages)</ol>
            \(pagerBottom)
            </section>
            <section aria-labelledby="reply-heading" class="reply">
            <h2 id="reply-heading">\(strings.replyHeading)</h2>
            <form method="post" action="\(base)/reply">\(chrome.csrfField)
            <label for="reply-text">\(heldReason == nil ? strings.replyLabel : strings.replyLabelHeld)</label>
            <textarea id="reply-text" name="text" rows="10" required aria-describedby="reply-hint"></textarea>
            <p id="reply-hint" class="hint">\(heldReason.map(strings.replyHintHeld) ?? strings.replyHint)</p>
            <button type="submit">\(strings.replySend)</button>
            </form>
            </section>
            """
        return layout(chrome, title: "\(strings.threadHeading) #\(chrome.shortID(thread.id))", notice: notice,
                      main: main)
    }

    /// The thread's key in groups of four for reading out (issue 22), with the user ID its newest signature on
    /// this page carried (attacker text, cleaned and isolated as in the message headers; none without such a
    /// signature: the store keeps no user ID for the thread itself).
    private static func clientKey(_ fingerprint: KeyFingerprint, messages: [InboxMessage]) -> HTML {
        let signer = messages.reversed().compactMap { $0.signer.map(ShownSigner.init) }
            .first { $0.isKey(fingerprint) }
        let userID: HTML = signer.map { $0.userID.isEmpty ? .empty : "<bdi class=\"signer-uid\">\($0.userID)</bdi> " }
            ?? .empty
        return "\(userID)<code class=\"fingerprint\">\(DisplayText.groupedFingerprint(fingerprint.hex))</code>"
    }

    /// The message pages around the shown one: above the list, which messages of how many and the link to
    /// earlier ones; below it, the link to later ones (the list is oldest first). Links jump to the messages.
    private static func messagePager(_ chrome: PageChrome, _ view: InboxThreadView, base: String) -> (HTML, HTML) {
        let strings = chrome.strings
        let page = view.page
        let total = page.earlierCount + view.messages.count + page.laterCount
        guard page.earlierCount > 0 || page.laterCount > 0 || view.messages.isEmpty else { return (.empty, .empty) }
        func nav(_ links: [HTML]) -> HTML {
            "<nav class=\"pager\" aria-label=\"\(strings.messagePagesNavigation)\"><ul>\(links)</ul></nav>"
        }
        var top: [HTML] = []
        if view.messages.isEmpty {
            top.append("""
                <li>\(strings.noMessagesOnPage) <a href="\(base)#messages-heading">\(strings.newestMessages)</a></li>
                """)
        } else {
            let range = strings.messageRange(from: page.earlierCount + 1, to: page.earlierCount + view.messages.count,
                                             of: total)
            top.append("<li>\(range)</li>")
        }
        if let cursor = page.earlierCursor {
            top.append("""
                <li><a href="\(base)?before=\(cursor.text)#messages-heading" rel="prev">\
                \(strings.earlierMessages(page.earlierCount, unread: page.earlierUnreadCount))</a></li>
                """)
        }
        var bottom: [HTML] = []
        if let cursor = page.laterCursor {
            bottom.append("""
                <li><a href="\(base)?after=\(cursor.text)#messages-heading" rel="next">\
                \(strings.laterMessages(page.laterCount, unread: page.laterUnreadCount))</a></li>
                """)
            bottom.append("<li><a href=\"\(base)#messages-heading\">\(strings.newestMessages)</a></li>")
        }
        return (nav(top), bottom.isEmpty ? .empty : nav(bottom))
    }

    /// One piece of a message body: text in a `<pre dir="auto">` (right-to-left scripts read right), a withheld
    /// part as a download link, a forwarded message framed with its own headers, text and attachments.
    private static func bodyPart(_ part: MessageDisplay.Part, strings: InboxStrings, messageURL: String) -> HTML {
        switch part {
        case .text(let text):
            return "<pre class=\"mail-text\" dir=\"auto\">\(text)</pre>"
        case .withheld(let index, let mediaType, let size):
            return """
                <p class="withheld">\(strings.withheldPart)
                <a href="\(messageURL)/parts/\(index)" download>\
                \(DisplayText.mediaType(mediaType)), \(size) \(strings.bytes) – \(strings.download)</a></p>
                """
        case .forwarded(let forwarded):
            let inner = forwarded.parts.map { bodyPart($0, strings: strings, messageURL: messageURL) }
            let items = forwarded.attachments.map { attachment -> HTML in
                """
                <li><a href="\(messageURL)/parts/\(attachment.index)" download>\
                \(MessageDisplay.safeFileName(attachment.name))</a>
                (\(DisplayText.mediaType(attachment.mediaType)), \(attachment.size) \(strings.bytes))</li>
                """
            }
            let list: HTML = items.isEmpty ? .empty : "<ul>\(items)</ul>"
            return """
                <blockquote class="forwarded"><h4>\(strings.forwardedMessage)</h4>
                <dl><dt>\(strings.forwardedFrom)</dt><dd dir="auto">\(forwarded.from)</dd>\
                <dt>\(strings.forwardedDate)</dt><dd>\(forwarded.date)</dd>\
                <dt>\(strings.subject)</dt><dd dir="auto">\(forwarded.subject)</dd></dl>
                \(inner)\(list)
                <p><a href="\(messageURL)/parts/\(forwarded.messageIndex)" download>\
                \(strings.forwardedMessage) (.eml), \(forwarded.messageSize) \(strings.bytes) – \
                \(strings.download)</a></p>
                </blockquote>
                """
        }
    }

    /// One message: chrome (direction, time, signature verdict and signer, subject) in a header, then the mail
    /// text. `clientKey`: the thread's key (nil: none yet), to say whether the signer's key is it.
    private static func message(_ chrome: PageChrome, _ message: InboxMessage, base: String, clientKey: KeyFingerprint?,
                                keyChangeConfirmed: Bool, held: Bool = false,
                                names: [AccountID: String] = [:]) -> HTML {
        let strings = chrome.strings
        let messageURL = "\(base)/messages/\(message.id.unredactedDescription)"
        let inbound = message.direction == .inbound
        let display = MessageDisplay(body: message.body)
        let bodyParts = display.parts.map { bodyPart($0, strings: strings, messageURL: messageURL) }
        var attachments = HTML.empty
        if !message.attachments.isEmpty {
            let items = message.attachments.map { attachment -> HTML in
                """
                <li><a href="\(messageURL)/attachments/\(attachment.position)" download>\
                \(MessageDisplay.safeFileName(attachment.name))</a>
                (\(DisplayText.mediaType(attachment.mediaType)), \(attachment.size) \(strings.bytes))</li>
                """
            }
            attachments = """
                <div class="attachments"><h4>\(strings.attachments)</h4><ul>\(items)</ul></div>
                """
        }
        let verdict: HTML = inbound
            ? signature(chrome, message, clientKey: clientKey, keyChangeConfirmed: keyChangeConfirmed) : .empty
        let unread: HTML = inbound && !message.wasRead
            ? " <span class=\"badge badge-new\">\(strings.unreadMarker)</span>" : .empty
        // A signature covers the subject only when it came from the signed inner headers; an outer one is marked.
        let subjectNote: HTML = inbound && message.signer?.subjectSigned == false
            ? " <span class=\"subject-unsigned\">(\(strings.subjectNotSigned))</span>" : .empty
        // A reply that could not be encrypted has not gone out: it must not look like a sent one (issue 17).
        let heldBadge: HTML = held ? " <span class=\"badge badge-held\">\(strings.heldReply)</span>" : .empty
        return """
            <li class="message \(inbound ? "inbound" : "outbound")\(held ? " held" : "")" \
            id="m-\(message.id.unredactedDescription)">
            <article>
            <header class="message-meta">
            <h3>\(inbound ? strings.fromClient : strings.fromCounsellor)\(unread)\(heldBadge)</h3>
            <dl>
            <dt>\(inbound ? strings.received : strings.sent)</dt><dd>\(chrome.date(message.receivedAt))</dd>
            \(inbound ? HTML.empty : replyDelivery(chrome, message.delivery, names: names))
            \(verdict)
            <dt>\(strings.subject)</dt><dd class="subject">\(DisplayText.subject(message.subject))\(subjectNote)</dd>
            </dl>
            </header>
            <div class="mail-content">
            \(bodyParts.isEmpty ? ["<p class=\"hint\">\(strings.emptyBody)</p>"] : bodyParts)
            </div>
            \(attachments)
            </article>
            </li>

            """
    }

    /// Who wrote a counsellor reply and how far its delivery got (issue 22), as `<dt>`/`<dd>` pairs; nothing where
    /// unknown (replies stored before schema v17).
    private static func replyDelivery(_ chrome: PageChrome, _ delivery: ReplyDelivery?,
                                      names: [AccountID: String]) -> HTML {
        guard let delivery else { return .empty }
        var parts: [HTML] = []
        if let author = delivery.author {
            let name = author == chrome.counsellor.id
                ? chrome.counsellor.displayName : names[author] ?? chrome.strings.formerAccount
            parts.append("<dt>\(chrome.strings.writtenBy)</dt><dd class=\"author\">\(name)</dd>")
        }
        if let state = delivery.state {
            parts.append("""
                <dt>\(chrome.strings.delivery)</dt><dd><span class="delivery delivery-\(state.rawValue)">\
                \(chrome.strings.delivery(state))</span></dd>
                """)
        }
        return HTML(joining: parts)
    }

    /// The verdict (with what to do, unless valid) and the signer, as `<dt>`/`<dd>` pairs of the message header.
    /// The user ID is attacker text: cleaned to one line (``ShownSigner``), escaped, and isolated with `<bdi>` so
    /// right-to-left names display correctly without reordering the chrome around them.
    private static func signature(_ chrome: PageChrome, _ message: InboxMessage, clientKey: KeyFingerprint?,
                                  keyChangeConfirmed: Bool) -> HTML {
        let strings = chrome.strings
        var advice = HTML.empty
        if let text = strings.verdictAdvice(message.verdict, keyChangeConfirmed: keyChangeConfirmed) {
            advice = "<span class=\"verdict-advice\">\(text)</span>"
        }
        var signer = HTML.empty
        if let stored = message.signer {
            let shown = ShownSigner(stored)
            let userID: HTML = shown.userID.isEmpty ? .empty : "<bdi class=\"signer-uid\">\(shown.userID)</bdi> "
            let whose: HTML = shown.isKey(clientKey)
                ? "<span class=\"signer-key\">(\(strings.signerIsThreadKey))</span>"
                : "<span class=\"signer-key signer-other\">(\(strings.signerIsOtherKey))</span>"
            signer = """
                <dt>\(strings.signedBy)</dt><dd class="signer">\(userID)\
                <code class="fingerprint">\(shown.groupedFingerprint)</code> \(whose)</dd>
                """
        }
        return """
            <dt>\(strings.signature)</dt><dd><span class="verdict verdict-\(verdictClass(message.verdict))">\
            \(strings.verdict(message.verdict))</span>\(advice)</dd>
            \(signer)
            """
    }

    /// Green only for `valid`; red where the message is likely not what it claims (altered, another sender,
    /// another recipient, sent again); amber where it cannot be confirmed.
    static func verdictClass(_ code: SignatureVerdictCode) -> String {
        switch code {
        case .valid: "valid"
        case .bad, .signerAddressMismatch, .notForThisRecipient, .oldSignature: "bad"
        case .unsigned, .missingKey, .validButUntrusted, .notApplicable, .unconfirmedKeyChange, .keyNotCurrent:
            "unverified"
        }
    }

    private static func keyChangeSection(_ chrome: PageChrome, _ change: ClientKeyChange, base: String,
                                         accessible: Set<ThreadID>) -> HTML {
        let strings = chrome.strings
        func link(_ other: KeyChangeThread) -> HTML {
            let anchor: HTML = "<a href=\"\(chrome.threadURL(other.id))\">#\(chrome.shortID(other.id))</a>"
            return accessible.contains(other.id)
                ? "\(anchor) (\(chrome.date(other.createdAt)))"
                : "#\(chrome.shortID(other.id)) \(strings.noAccessToThread)"
        }
        let earlier = change.otherThreads.filter(\.isEarlier)
        let later = change.otherThreads.filter { !$0.isEarlier }
        var parts: [HTML] = []
        if !earlier.isEmpty {
            if let confirmed = change.confirmedAt {
                parts.append("<p>\(strings.keyChangeConfirmed) \(chrome.date(confirmed)).</p>")
            } else {
                parts.append("<p>\(strings.keyChangeWarning)</p>")
            }
            parts.append("<p>\(strings.keyChangeEarlier) \(earlier.map(link))</p>")
            if change.needsConfirmation {
                parts.append("""
                    <form method="post" action="\(base)/key-change">\(chrome.csrfField)
                    <button type="submit">\(strings.keyChangeConfirm)</button>
                    </form>
                    """)
            }
        }
        if !later.isEmpty {
            parts.append("<p>\(strings.keyChangeLater) \(later.map(link))</p>")
        }
        let warning = change.needsConfirmation ? " warning" : ""
        return """
            <section aria-labelledby="key-change-heading" class="key-change\(warning)" role="note">
            <h2 id="key-change-heading">\(strings.keyChangeHeading)</h2>
            \(parts)
            </section>
            """
    }

    // MARK: Delete

    static func confirmDelete(_ chrome: PageChrome, thread: InboxThread) -> HTML {
        let strings = chrome.strings
        let base = chrome.threadURL(thread.id)
        let main: HTML = """
            <h1>\(strings.deleteHeading) #\(chrome.shortID(thread.id))</h1>
            <p>\(strings.deleteExplanation)</p>
            <form method="post" action="\(base)/delete">\(chrome.csrfField)
            <input type="hidden" name="confirm" value="yes">
            <button type="submit" class="danger">\(strings.deleteConfirm)</button>
            <a class="button" href="\(base)">\(strings.cancel)</a>
            </form>
            """
        return layout(chrome, title: strings.deleteHeading, main: main)
    }

    // MARK: Errors

    static func error(_ chrome: PageChrome?, strings: InboxStrings, title: String, text: String) -> HTML {
        let main: HTML = """
            <h1>\(title)</h1>
            <p>\(text)</p>
            <p><a href="/threads">\(strings.backToList)</a></p>
            """
        guard let chrome else {
            return """
                <!DOCTYPE html>
                <html lang="\(strings.language.rawValue)">
                <head><meta charset="utf-8"><title>\(title)</title><link rel="stylesheet" href="/static/app.css"></head>
                <body><main id="main">\(main)</main></body>
                </html>

                """
        }
        return layout(chrome, title: title, main: main)
    }
}
