// Security: prints the audit log for the administrator on the server. The log holds no content by construction
// (event codes, opaque IDs, counts); this command adds only the acting account's login name, which is staff data.

import Foundation
public import ThreadStore

/// `mailbridge audit`: who did what, when, to which thread, and through which door (issue 8).
public enum AuditAdmin {
    struct ListedEntry: Encodable {
        var sequence: Int64
        var at: Date
        var event: String
        var eventCode: Int
        var account: String?
        var accountID: String?
        var channel: String?
        var tokenID: String?
        var thread: String?
        var item: String?
        var count: Int?
        /// The name of the reason or state that `count` codes, for the events that store one (``AuditReasonNames``).
        var reason: String?
    }

    /// The newest `limit` entries (1…10 000) matching the filters, oldest first. `thread` is a thread ID,
    /// `account` a login name or an account ID (32 hex; also of a deleted account), `since` an ISO 8601 date
    /// (`2026-11-24`) or time (`2026-11-24T08:00:00Z`), `before` a sequence number (`#123`: to page back).
    /// `organisation`: an `[[organisation]]` id; only the entries about its threads and its accounts.
    public static func list(_ installation: OpenedInstallation, thread: String?, account: String?, since: String?,
                            before: Int64? = nil, organisation: String? = nil, limit: Int, json: Bool)
        async throws -> AdminResult
    {
        guard (1...10_000).contains(limit) else { throw AdminUsageError("--limit must be 1-10000") }
        var filter = AuditFilter()
        if let organisation {
            let directory = installation.configuration.organisationDirectory
            guard let id = try UsersAdmin.organisation(organisation, installation: installation),
                let fields = directory.fields(of: id)
            else { throw AdminUsageError("--organisation must be the id of a configured [[organisation]]") }
            filter.organisation = (id, fields)
        }
        if let thread {
            guard let id = try? ThreadID(thread) else { throw AdminUsageError("a thread ID is 32 hex characters") }
            filter.thread = id
        }
        if let account {
            // An account ID also finds the entries of a deleted account (its name is gone).
            if account.utf8.count == 32, let id = try? AccountID(account) {
                filter.actor = id
            } else {
                filter.actor = try await UsersAdmin.account(named: account, in: installation).id
            }
        }
        if let before {
            guard before > 0 else { throw AdminUsageError("--before must be a sequence number (the #N of an entry)") }
            filter.before = before
        }
        if let since {
            guard let date = parseDate(since) else {
                throw AdminUsageError("--since must be a date (2026-11-24) or a UTC time (2026-11-24T08:00:00Z)")
            }
            filter.since = date
        }
        let entries = try await installation.stores.audit.latestAuditEntries(filter, limit: limit)
        let accounts = try await installation.stores.inbox.accounts()
        let names = Dictionary(accounts.map { ($0.id, $0.username) }, uniquingKeysWith: { first, _ in first })
        let listed = entries.map { entry in
            var tokenID: String?
            if case .apiToken(let id) = entry.channel { tokenID = id.unredactedDescription }
            return ListedEntry(
                sequence: entry.sequence, at: entry.at, event: "\(entry.event)", eventCode: entry.event.rawValue,
                account: entry.actor.flatMap { names[$0] }, accountID: entry.actor?.unredactedDescription,
                channel: entry.channel.map(channelName), tokenID: tokenID, thread: entry.thread?.unredactedDescription,
                item: entry.itemID, count: entry.count,
                reason: entry.count.flatMap { AuditReasonNames.name(event: entry.event, code: $0) })
        }
        if json { return AdminResult(output: try AdminSession.json(listed)) }
        let formatter = ISO8601DateFormatter()
        let lines = listed.map { entry in
            var line = "\(formatter.string(from: entry.at))  #\(entry.sequence)  \(entry.event)"
            if let accountID = entry.accountID { line += "  account: \(entry.account ?? accountID)" }
            if let channel = entry.channel { line += "  via: \(channel)" + (entry.tokenID.map { " \($0)" } ?? "") }
            if let thread = entry.thread { line += "  thread: \(thread)" }
            if let item = entry.item { line += "  item: \(item)" }
            if let reason = entry.reason {
                line += "  reason: \(reason)"
            } else if let count = entry.count {
                line += "  count: \(count)"
            }
            return line
        }
        return AdminResult(output: lines.isEmpty ? "no audit entries" : lines.joined(separator: "\n"))
    }

    static func channelName(_ channel: AuditChannel) -> String {
        switch channel {
        case .browser: "browser"
        case .apiToken: "api-token"
        case .commandLine: "command-line"
        }
    }

    /// `YYYY-MM-DD` (midnight UTC) or an ISO 8601 time with zone.
    static func parseDate(_ text: String) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
    }
}
