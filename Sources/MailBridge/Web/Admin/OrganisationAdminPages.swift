// Security: renders the organisation administrator's pages. Every value goes through `HTML` interpolation
// (escaped). They show staff data of the administrator's own organisation only (user and display names, roles,
// fields, states, token labels), never thread content; a new password or token appears once, on the answer to the
// request that made it (responses are never cached: SecurityHeadersMiddleware).

import Foundation
import ThreadStore

/// The HTML of `/admin/accounts…`.
enum OrganisationAdminPages {
    /// What the account page confirms after a change (`?done=`).
    enum Done: String {
        case role, disabled, enabled, revoked, deleted
    }

    /// A secret shown once.
    enum Secret {
        case password(String)
        case token(String)
    }

    static func accountPath(_ id: AccountID) -> String {
        OrganisationAdminRoutes.accountsPath + "/" + id.unredactedDescription
    }

    /// The form name of a field's checkbox.
    static func fieldName(_ field: CounsellingField) -> String { "field-" + field.rawValue }

    /// The list of the organisation's accounts and the form for a new one.
    static func accounts(_ chrome: PageChrome, accounts: [Account], fields: [CounsellingField], done: Done? = nil)
        -> HTML
    {
        let strings = chrome.strings
        let notice: HTML = done.map { "<p class=\"notice\" role=\"status\">\(strings.adminDone($0))</p>" } ?? ""
        let suffix: HTML = chrome.counsellor.organisation.map { "<span class=\"suffix\">@\($0.rawValue)</span>" } ?? .empty
        // What fits before the suffix in a login name.
        let room = Account.maximumUsernameLength - (chrome.counsellor.organisation.map { $0.rawValue.utf8.count + 1 } ?? 0)
        let rows = HTML(joining: accounts.map { account -> HTML in
            """
            <tr><td><a href="\(accountPath(account.id))">\(account.username)</a></td>\
            <td>\(account.displayName)</td><td>\(duties(account, strings))</td>\
            <td>\(account.fields.isEmpty ? "–" : account.fields.map(\.rawValue).sorted().joined(separator: ", "))</td>\
            <td>\(state(account, strings))</td></tr>
            """
        })
        let main: HTML = """
            <h1>\(strings.adminHeading)</h1>
            \(notice)
            <p><a href="\(OrganisationAdminRoutes.auditPath)">\(strings.adminAuditHeading)</a></p>
            <table class="accounts">
            <thead><tr><th scope="col">\(strings.adminUsername)</th><th scope="col">\(strings.adminDisplayName)</th>\
            <th scope="col">\(strings.adminRole)</th><th scope="col">\(strings.adminFields)</th>\
            <th scope="col">\(strings.adminState)</th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            <h2>\(strings.adminNewAccount)</h2>
            <form method="post" action="\(OrganisationAdminRoutes.accountsPath)">\(chrome.csrfField)
            <p><label for="username">\(strings.adminUsername)</label>
            <input id="username" name="username" required maxlength="\(room)" autocomplete="off">\(suffix)</p>
            <p><label for="display-name">\(strings.adminDisplayName)</label>
            <input id="display-name" name="display_name" required maxlength="128" autocomplete="off"></p>
            <p><label for="language">\(strings.adminLanguage)</label>
            <select id="language" name="language"><option value="de">Deutsch</option>\
            <option value="en">English</option></select></p>
            \(dutiesFields(strings, fields: fields, role: .counsellor, administers: false, chosen: []))
            <p><button type="submit">\(strings.adminCreate)</button></p>
            </form>
            <p>\(strings.adminCreateNote)</p>
            """
        return InboxPages.layout(chrome, title: strings.adminHeading, main: main)
    }

    /// One account: its role and fields, its state, its API tokens.
    static func account(_ chrome: PageChrome, account: Account, tokens: [APITokenInfo], fields: [CounsellingField],
                        done: Done?) -> HTML {
        let strings = chrome.strings
        let path = accountPath(account.id)
        let own = account.id == chrome.counsellor.id
        let notice: HTML = done.map { "<p class=\"notice\" role=\"status\">\(strings.adminDone($0))</p>" } ?? ""
        let tokenRows = HTML(joining: tokens.map { token -> HTML in
            let revoke: HTML = token.revokedAt == nil ? """
                <form method="post" action="\(path)/tokens/\(token.id.unredactedDescription)/revoke" \
                class="inline-form">\(chrome.csrfField)<button type="submit">\(strings.adminRevoke)</button></form>
                """ : "\(strings.adminRevoked) \(chrome.date(token.revokedAt!))"
            return "<tr><td>\(token.label)</td><td>\(chrome.date(token.createdAt))</td><td>\(revoke)</td></tr>"
        })
        let toggle: HTML = own ? "" : """
            <form method="post" action="\(path)/\(account.isDisabled ? "enable" : "disable")" class="inline-form">\
            \(chrome.csrfField)<button type="submit">\(account.isDisabled ? strings.adminEnable : strings.adminDisable)\
            </button></form>
            <form method="post" action="\(path)/reset" class="inline-form">\(chrome.csrfField)\
            <button type="submit">\(strings.adminReset)</button></form>
            <form method="post" action="\(path)/delete" class="inline-form">\(chrome.csrfField)\
            <label><input type="checkbox" name="confirm" value="yes" required> \(strings.adminDeleteConfirm)</label> \
            <button type="submit">\(strings.adminDelete)</button></form>
            """
        let main: HTML = """
            <p><a href="\(OrganisationAdminRoutes.accountsPath)">\(strings.adminBack)</a></p>
            <h1>\(account.displayName) (\(account.username))</h1>
            \(notice)
            <p>\(strings.adminState): \(state(account, strings))</p>
            \(toggle)
            <h2>\(strings.adminRole)</h2>
            <form method="post" action="\(path)/role">\(chrome.csrfField)
            \(dutiesFields(strings, fields: fields, role: account.role, administers: account.administers,
                           chosen: account.fields))
            <p><button type="submit">\(strings.adminSave)</button></p>
            </form>
            <h2>\(strings.adminTokens)</h2>
            <table class="tokens"><thead><tr><th scope="col">\(strings.adminTokenLabel)</th>\
            <th scope="col">\(strings.adminCreated)</th><th scope="col">\(strings.adminState)</th></tr></thead>
            <tbody>\(tokenRows)</tbody></table>
            <form method="post" action="\(path)/tokens">\(chrome.csrfField)
            <p><label for="token-label">\(strings.adminTokenLabel)</label>
            <input id="token-label" name="label" required maxlength="64" autocomplete="off"></p>
            <p><button type="submit">\(strings.adminTokenCreate)</button></p>
            </form>
            """
        return InboxPages.layout(chrome, title: strings.adminHeading, main: main)
    }

    /// The organisation's audit entries, newest first; `names`: its accounts' login names by ID; `older`: the
    /// cursor to page back from. No sequence numbers (they count every organisation's events) and no IDs of
    /// accounts outside the organisation: those show as another account.
    static func audit(_ chrome: PageChrome, entries: [AuditEntry], names: [String: String], older: String?) -> HTML {
        let strings = chrome.strings
        func who(_ id: String?) -> String {
            guard let id else { return "–" }
            return names[id] ?? strings.adminOtherAccount
        }
        let rows = HTML(joining: entries.map { entry -> HTML in
            let actor = entry.actor.map { who($0.unredactedDescription) }
                ?? (entry.channel == .commandLine ? strings.adminInstallation : "–")
            let channel: String = switch entry.channel {
            case .browser?: "browser"
            case .apiToken?: "api-token"
            case .commandLine?: "command-line"
            case nil: "–"
            }
            let thread = entry.thread.map { String($0.unredactedDescription.prefix(8)) } ?? "–"
            let item = entry.itemID.map { names[$0] ?? "•" } ?? "–"
            return """
                <tr><td>\(chrome.date(entry.at))</td><td>\("\(entry.event)")</td>\
                <td>\(actor)</td><td>\(channel)</td><td>\(thread)</td><td>\(item)</td>\
                <td>\(entry.count.map(String.init) ?? "–")</td></tr>
                """
        })
        let more: HTML = older.map {
            "<p><a href=\"\(OrganisationAdminRoutes.auditPath)?before=\($0)\">\(strings.adminOlder)</a></p>"
        } ?? .empty
        let main: HTML = """
            <p><a href="\(OrganisationAdminRoutes.accountsPath)">\(strings.adminBack)</a></p>
            <h1>\(strings.adminAuditHeading)</h1>
            <p>\(strings.adminAuditIntro)</p>
            <table class="audit"><thead><tr><th scope="col">\(strings.adminWhen)</th>\
            <th scope="col">\(strings.adminEvent)</th><th scope="col">\(strings.adminActor)</th>\
            <th scope="col">\(strings.adminChannel)</th><th scope="col">\(strings.adminThread)</th>\
            <th scope="col">\(strings.adminItem)</th><th scope="col">\(strings.adminCount)</th></tr></thead>
            <tbody>\(rows)</tbody></table>
            \(more)
            """
        return InboxPages.layout(chrome, title: strings.adminAuditHeading, main: main)
    }

    /// The answer that shows a new password or token, once.
    static func secret(_ chrome: PageChrome, account: Account, secret: Secret) -> HTML {
        let strings = chrome.strings
        let (label, value, note): (String, String, String) = switch secret {
        case .password(let password): (strings.adminInitialPassword, password, strings.adminPasswordNote)
        case .token(let token): (strings.adminNewToken, token, strings.adminTokenNote)
        }
        let main: HTML = """
            <h1>\(account.displayName) (\(account.username))</h1>
            <p>\(label):</p>
            <p><output class="secret"><code>\(value)</code></output></p>
            <p>\(note)</p>
            <p><a href="\(accountPath(account.id))">\(strings.adminContinue)</a></p>
            """
        return InboxPages.layout(chrome, title: strings.adminHeading, main: main)
    }

    private static func dutiesFields(_ strings: InboxStrings, fields: [CounsellingField], role: CounsellorRole,
                                     administers: Bool, chosen: Set<CounsellingField>) -> HTML {
        let boxes = HTML(joining: fields.map { field -> HTML in
            let name = fieldName(field)
            return """
                <label><input type="checkbox" name="\(name)"\(chosen.contains(field) ? " checked" : "")> \
                \(field.rawValue)</label>
                """
        })
        return """
            <fieldset><legend>\(strings.adminRole)</legend>
            <label><input type="radio" name="role" value="counsellor"\(role == .counsellor ? " checked" : "")> \
            \(strings.adminCounsellor)</label>
            <label><input type="radio" name="role" value="teamlead"\(role == .teamLead ? " checked" : "")> \
            \(strings.adminTeamLead)</label>
            <label><input type="checkbox" name="administers"\(administers ? " checked" : "")> \
            \(strings.adminAdministers)</label>
            </fieldset>
            <fieldset><legend>\(strings.adminFields)</legend>\(boxes)</fieldset>
            <p>\(strings.adminDutiesNote)</p>
            """
    }

    private static func duties(_ account: Account, _ strings: InboxStrings) -> String {
        var parts: [String] = []
        if account.role == .teamLead { parts.append(strings.adminTeamLead) }
        else if !account.fields.isEmpty { parts.append(strings.adminCounsellor) }
        if account.administers { parts.append(strings.adminAdministrator) }
        return parts.isEmpty ? "–" : parts.joined(separator: ", ")
    }

    private static func state(_ account: Account, _ strings: InboxStrings) -> String {
        var parts: [String] = [account.isDisabled ? strings.adminDisabled : strings.adminActive]
        parts.append(account.hasSecondFactor ? strings.adminSecondFactor : strings.adminNoSecondFactor)
        if account.mustChangePassword { parts.append(strings.adminPasswordPending) }
        return parts.joined(separator: ", ")
    }
}
