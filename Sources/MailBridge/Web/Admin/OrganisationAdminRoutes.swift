// Security: an organisation's administrator manages its own organisation's accounts and API tokens (issue 29).
// Untrusted input: path parameters (128-bit hex IDs, validated before any lookup) and urlencoded forms (at most
// 4 KiB, CSRF-checked by the authentication side's middleware before these handlers run). Only a browser session
// of an account with `administers` reaches these pages; anyone else gets the inbox's not-found page. An account or
// token of another organisation answers exactly like one that
// does not exist: every lookup reads the same list and filters by organisation. New passwords and tokens are
// generated here from the system's CSPRNG, shown once in the answer (never cached, logged or stored in clear);
// logs get outcome codes only, never user names. Every change is audited by the store with the administrator as
// actor.

import Foundation
import Hummingbird
import Logging
import NIOCore
import ThreadStore

/// `/admin/accounts…`: the organisation administrator's pages.
struct OrganisationAdminRoutes: Sendable {
    let services: WebServices

    static let accountsPath = "/admin/accounts"
    static let auditPath = "/admin/audit"
    /// Audit entries per page.
    static let auditPageSize = 100
    static let maximumFormBytes = 4 << 10

    /// Why a request is refused.
    struct Failure: Error {
        enum Code { case notFound, invalid, ownAccount, taken, beyondReach }
        let code: Code
        init(_ code: Code) { self.code = code }
    }

    func register(on router: Router<WebRequestContext>) {
        router.get(RouterPath(stringLiteral: Self.accountsPath)) { request, context in
            await page(context) { chrome, accounts in
                let members = try await members(of: chrome)
                let done = request.uri.queryParameters.get("done").flatMap(OrganisationAdminPages.Done.init(rawValue:))
                return WebResponses.html(OrganisationAdminPages.accounts(
                    chrome, accounts: members, fields: offeredFields(chrome), done: done))
            }
        }
        router.post(RouterPath(stringLiteral: Self.accountsPath)) { request, context in
            await page(context) { chrome, accounts in try await create(request, chrome) }
        }
        router.get(RouterPath(stringLiteral: Self.auditPath)) { request, context in
            await page(context) { chrome, _ in try await auditLog(request, chrome) }
        }
        router.get("/admin/accounts/{account}") { request, context in
            await page(context) { chrome, accounts in
                let account = try await member(context, of: chrome)
                let tokens = try await accounts.apiTokens().filter { $0.accountID == account.id }
                let done = request.uri.queryParameters.get("done").flatMap(OrganisationAdminPages.Done.init(rawValue:))
                return WebResponses.html(OrganisationAdminPages.account(
                    chrome, account: account, tokens: tokens, fields: offeredFields(chrome), done: done))
            }
        }
        router.post("/admin/accounts/{account}/role") { request, context in
            await page(context) { chrome, accounts in
                let account = try await member(context, of: chrome)
                let form = try await LoginRoutes.form(request, limit: Self.maximumFormBytes)
                let (role, administers, fields) = try duties(form, chrome)
                if account.id == chrome.counsellor.id, !administers { throw Failure(.ownAccount) }
                // Its tokens were made for what it reached: when it reaches more, they are revoked first (a token
                // acts unseen; the rule for making one must hold for as long as it lives).
                let before = threads(of: account, chrome)
                if !threads(role: role, fields: fields, chrome).isSubset(of: before) {
                    for token in try await accounts.apiTokens()
                    where token.accountID == account.id && token.revokedAt == nil {
                        try await accounts.revokeAPIToken(token.id, actor: chrome.counsellor.id, via: .browser)
                    }
                }
                try await accounts.setRole(role, administers: administers, fields: fields, of: account.id,
                                           in: chrome.counsellor.organisation,
                                           actor: chrome.counsellor.id, via: .browser)
                return done(account, .role)
            }
        }
        router.post("/admin/accounts/{account}/disable") { request, context in
            await page(context) { chrome, accounts in
                let account = try await others(context, of: chrome)
                try await accounts.disableAccount(account.id, actor: chrome.counsellor.id, via: .browser)
                return done(account, .disabled)
            }
        }
        router.post("/admin/accounts/{account}/enable") { request, context in
            await page(context) { chrome, accounts in
                let account = try await others(context, of: chrome)
                try await accounts.enableAccount(account.id, actor: chrome.counsellor.id, via: .browser)
                return done(account, .enabled)
            }
        }
        router.post("/admin/accounts/{account}/delete") { request, context in
            await page(context) { chrome, accounts in
                let account = try await others(context, of: chrome)
                let form = try await LoginRoutes.form(request, limit: Self.maximumFormBytes)
                guard form["confirm"] == "yes" else { throw Failure(.invalid) }
                try await accounts.deleteAccount(account.id, actor: chrome.counsellor.id, via: .browser)
                log("deleted")
                return WebResponses.redirect(Self.accountsPath + "?done=" + OrganisationAdminPages.Done.deleted.rawValue)
            }
        }
        router.post("/admin/accounts/{account}/reset") { request, context in
            await page(context) { chrome, accounts in
                let account = try await others(context, of: chrome)
                let password = PasswordPolicy.generate()
                let hash = try await PasswordHasher(cost: services.auth.bcryptCost).hash(password)
                try await accounts.resetPassword(of: account.id, passwordHash: hash, in: chrome.counsellor.organisation,
                                                 actor: chrome.counsellor.id,
                                                 via: .browser)
                log("password reset")
                return WebResponses.html(OrganisationAdminPages.secret(chrome, account: account, secret: .password(password)))
            }
        }
        router.post("/admin/accounts/{account}/tokens") { request, context in
            await page(context) { chrome, accounts in
                let account = try await member(context, of: chrome)
                // A token acts as its account, unseen by the account's owner: an administrator makes one only for
                // an account that reaches no thread it does not reach itself.
                guard threads(of: account, chrome).isSubset(of: threads(of: chrome.counsellor, chrome)) else {
                    throw Failure(.beyondReach)
                }
                guard !account.isDisabled else { throw Failure(.invalid) }
                let form = try await LoginRoutes.form(request, limit: Self.maximumFormBytes)
                let label = (form["label"] ?? "").trimmingCharacters(in: .whitespaces)
                guard NewAPIToken.isValidLabel(label) else { throw Failure(.invalid) }
                let token = try await accounts.createAPIToken(for: account.id, label: label,
                                                              actor: chrome.counsellor.id, via: .browser)
                log("token created")
                return WebResponses.html(OrganisationAdminPages.secret(chrome, account: account, secret: .token(token.token)))
            }
        }
        router.post("/admin/accounts/{account}/tokens/{token}/revoke") { request, context in
            await page(context) { chrome, accounts in
                let account = try await member(context, of: chrome)
                guard let text = context.parameters.get("token"), let id = try? APITokenID(text),
                    try await accounts.apiTokens().contains(where: { $0.id == id && $0.accountID == account.id })
                else { throw Failure(.notFound) }
                try await accounts.revokeAPIToken(id, actor: chrome.counsellor.id, via: .browser)
                return done(account, .revoked)
            }
        }
    }

    // MARK: Steps

    /// `POST /admin/accounts`: a new account of the administrator's organisation with a generated password that
    /// it must replace at its first login.
    private func create(_ request: Request, _ chrome: PageChrome) async throws -> Response {
        let form = try await LoginRoutes.form(request, limit: Self.maximumFormBytes)
        let displayName = (form["display_name"] ?? "").trimmingCharacters(in: .whitespaces)
        guard let username = Self.username(form["username"] ?? "", in: chrome.counsellor.organisation),
            Account.isValidUsername(username), Account.isValidDisplayName(displayName),
            let language = InterfaceLanguage(rawValue: form["language"] ?? "de")
        else { throw Failure(.invalid) }
        let (role, administers, fields) = try duties(form, chrome)
        let password = PasswordPolicy.generate()
        let hash = try await PasswordHasher(cost: services.auth.bcryptCost).hash(password)
        let new = NewAccount(username: username, displayName: displayName, role: role, language: language,
                             fields: fields, passwordHash: hash, mustChangePassword: true,
                             organisation: chrome.counsellor.organisation, administers: administers)
        let id: AccountID
        do {
            id = try await services.webState.createAccount(new, actor: chrome.counsellor.id, via: .browser)
        } catch let error as ThreadStoreError where error == .accountExists {
            throw Failure(.taken)
        }
        log("account created")
        guard let account = try await services.webState.account(named: username), account.id == id else {
            throw Failure(.notFound)
        }
        return WebResponses.html(OrganisationAdminPages.secret(chrome, account: account, secret: .password(password)))
    }

    /// `GET /admin/audit`: the organisation's audit entries, newest first (`?before=N` pages back): those about
    /// its threads and, without a thread, by or about its accounts (``AuditFilter/organisation``). Codes, IDs,
    /// counts and its own staff's names; nothing of another organisation.
    private func auditLog(_ request: Request, _ chrome: PageChrome) async throws -> Response {
        guard let audit = services.audit else { throw Failure(.notFound) }
        var filter = AuditFilter()
        if let organisation = chrome.counsellor.organisation {
            filter.organisation = (organisation, Set(offeredFields(chrome)))
        } else {
            // The whole log only for the one implicit organisation.
            guard services.organisations.isImplicit else { throw Failure(.notFound) }
        }
        if let text = request.uri.queryParameters.get("before") {
            guard let before = AuditCursor.sequence(text) else { throw Failure(.invalid) }
            filter.before = before
        }
        let entries = try await audit.latestAuditEntries(filter, limit: Self.auditPageSize)
        let names = Dictionary(try await members(of: chrome).map { ($0.id.unredactedDescription, $0.username) },
                               uniquingKeysWith: { first, _ in first })
        return WebResponses.html(OrganisationAdminPages.audit(
            chrome, entries: entries.reversed(), names: names,
            older: entries.count == Self.auditPageSize ? entries.first.map { AuditCursor.make(before: $0.sequence) } : nil))
    }

    /// The login name of a new account: with organisations it ends in `@` and the organisation's ID (added when
    /// not typed). An organisation ID has no `@`, so what follows the last `@` names exactly one organisation: an
    /// administrator can only ever collide with names of its own, and a refused name tells nothing about another
    /// organisation's staff.
    /// Nil when nothing is typed before the suffix.
    static func username(_ typed: String, in organisation: OrganisationID?) -> String? {
        let name = typed.trimmingCharacters(in: .whitespaces)
        guard let suffix = organisation.map({ "@" + $0.rawValue }) else { return name.isEmpty ? nil : name }
        let full = name.hasSuffix(suffix) ? name : name + suffix
        return full.utf8.count > suffix.utf8.count ? full : nil
    }

    /// The role, the administrator's right and the fields a form asks for: fields only among the organisation's,
    /// and a counsellor without fields only as an administrator (else the account could do nothing).
    private func duties(_ form: FormFields, _ chrome: PageChrome) throws
        -> (CounsellorRole, administers: Bool, Set<CounsellingField>)
    {
        // A box dropped from an overlong form would take a field away: refused instead.
        guard !form.isTruncated else { throw Failure(.invalid) }
        let role: CounsellorRole
        switch form["role"] {
        case "counsellor": role = .counsellor
        case "teamlead": role = .teamLead
        default: throw Failure(.invalid)
        }
        let administers = form["administers"] == "on"
        var fields = Set<CounsellingField>()
        for field in offeredFields(chrome) where form[OrganisationAdminPages.fieldName(field)] == "on" {
            fields.insert(field)
        }
        guard role == .teamLead || administers || !fields.isEmpty else { throw Failure(.invalid) }
        return (role, administers, fields)
    }

    /// The fields the administrator's organisation owns, which its accounts may be given.
    func offeredFields(_ chrome: PageChrome) -> [CounsellingField] {
        switch chrome.counsellor.reach {
        case .fields(let owned): owned.sorted { $0.rawValue < $1.rawValue }
        case .everyField: services.fields.sorted { $0.rawValue < $1.rawValue }
        }
    }

    /// The fields whose threads an account of the administrator's organisation reaches.
    private func threads(of account: Account, _ chrome: PageChrome) -> Set<CounsellingField> {
        threads(role: account.role, fields: account.fields, chrome)
    }

    private func threads(of counsellor: Counsellor, _ chrome: PageChrome) -> Set<CounsellingField> {
        threads(role: counsellor.role, fields: counsellor.fields, chrome)
    }

    private func threads(role: CounsellorRole, fields: Set<CounsellingField>, _ chrome: PageChrome)
        -> Set<CounsellingField>
    {
        let owned = Set(offeredFields(chrome))
        return role == .teamLead ? owned : fields.intersection(owned)
    }

    /// The accounts of the administrator's organisation, by user name.
    private func members(of chrome: PageChrome) async throws -> [Account] {
        try await services.inbox.accounts().filter { $0.organisation == chrome.counsellor.organisation }
    }

    /// The account named by the path, if it belongs to the administrator's organisation. Another organisation's
    /// account is not found, exactly like an ID nobody has: both read the same list.
    private func member(_ context: WebRequestContext, of chrome: PageChrome) async throws -> Account {
        let id = context.parameters.get("account").flatMap { try? AccountID($0) }
        let accounts = try await members(of: chrome)
        guard let id, let account = accounts.first(where: { $0.id == id }) else { throw Failure(.notFound) }
        return account
    }

    /// ``member(_:of:)``, and not the administrator's own account (it does not disable, delete or reset itself:
    /// the password page is its way, and another administrator the other).
    private func others(_ context: WebRequestContext, of chrome: PageChrome) async throws -> Account {
        let account = try await member(context, of: chrome)
        guard account.id != chrome.counsellor.id else { throw Failure(.ownAccount) }
        return account
    }

    private func done(_ account: Account, _ done: OrganisationAdminPages.Done) -> Response {
        log(done.rawValue)
        return WebResponses.redirect(OrganisationAdminPages.accountPath(account.id) + "?done=" + done.rawValue)
    }

    private func log(_ outcome: String) {
        services.logger.info("organisation administration", metadata: ["outcome": "\(outcome)"])
    }

    /// Runs `body` for an administrator's browser session and turns failures into fixed pages; anyone else gets
    /// the not-found page.
    private func page(_ context: WebRequestContext,
                      _ body: (PageChrome, any AccountAdminStore) async throws -> Response) async -> Response {
        guard let chrome = PageChrome(context, timeZone: services.timeZone) else {
            return WebResponses.redirect(WebAuthNames.loginPath)
        }
        let strings = chrome.strings
        func answer(_ title: String, _ text: String, _ status: HTTPResponse.Status) -> Response {
            WebResponses.html(InboxPages.error(chrome, strings: strings, title: title, text: text), status: status)
        }
        guard chrome.counsellor.administers, let accounts = services.accounts else {
            return answer(strings.notFoundTitle, strings.notFoundText, .notFound)
        }
        do {
            return try await body(chrome, accounts)
        } catch let failure as Failure {
            switch failure.code {
            case .notFound: return answer(strings.notFoundTitle, strings.notFoundText, .notFound)
            case .invalid: return answer(strings.badRequestTitle, strings.adminFormInvalid, .badRequest)
            case .ownAccount: return answer(strings.badRequestTitle, strings.adminOwnAccount, .badRequest)
            case .taken: return answer(strings.badRequestTitle, strings.adminUsernameTaken, .conflict)
            case .beyondReach: return answer(strings.forbiddenTitle, strings.adminTokenBeyondReach, .forbidden)
            }
        } catch let error as ThreadStoreError where error == .accountNotFound || error == .apiTokenNotFound {
            // Deleted by another administrator in between.
            return answer(strings.notFoundTitle, strings.notFoundText, .notFound)
        } catch is NIOTooManyBytesError {
            return answer(strings.badRequestTitle, strings.tooLargeText, .contentTooLarge)
        } catch {
            services.logger.error("administration request failed",
                                  metadata: ["error": "\(WebResponses.loggable(error))"])
            return answer(strings.serverErrorTitle, strings.serverErrorText, .internalServerError)
        }
    }
}
