// Security: what the installation's administrator sees of the organisations (issue 29): their IDs, names, fields
// and counts of mailboxes, accounts and threads. Never a thread, a subject, an address or a user name: the
// association that runs the machine must not read any member's content.

import Foundation
import ThreadStore

/// `mailbridge organisations list`: the organisations as configured, with counts.
public enum OrganisationsAdmin {
    struct Listed: Encodable {
        var id: String
        var name: String
        var fields: [String]
        var mailboxes: Int
        var accounts: Int
        var disabledAccounts: Int
        var threads: Int
        /// The organisation's own master key: "loaded", "missing" (its mail waits) or "refused" (not the key the
        /// store knows).
        var key: String
    }

    struct Listing: Encodable {
        /// False: no `[[organisation]]`, the installation is one implicit organisation.
        var configured: Bool
        var organisations: [Listed]
        /// Accounts that name no configured organisation (or one while there are none): they cannot work.
        var accountsWithoutOrganisation: Int
        /// Threads of fields that no configured organisation owns (a mailbox removed from the configuration).
        var threadsWithoutOrganisation: Int
    }

    /// Every configured organisation with its counts.
    public static func list(_ installation: OpenedInstallation, json: Bool) async throws -> AdminResult {
        let directory = installation.configuration.organisationDirectory
        let accounts = try await installation.stores.inbox.accounts()
        let threads = try await installation.stores.gauges.threadCountsByField()
        let totals = directory.totals(threads)
        let keys = installation.engine.organisationKeys
        let listed = totals.map { organisation, count in
            let members = accounts.filter { $0.organisation == organisation.id }
            let key = keys.refused.contains(organisation.id) ? "refused"
                : keys.hasKey(for: organisation.id) ? "loaded" : "missing"
            return Listed(
                id: organisation.id.rawValue, name: organisation.name,
                fields: (directory.fields(of: organisation.id) ?? []).map(\.rawValue).sorted(),
                mailboxes: installation.configuration.mailboxes.filter { $0.organisation == organisation.id }.count,
                accounts: members.count, disabledAccounts: members.filter(\.isDisabled).count, threads: count,
                key: key)
        }
        let stray = accounts.filter { directory.reach(of: $0.organisation) == nil }.count
        // Each field belongs to one organisation, so what the organisations' totals leave is in no one's field.
        let orphaned = directory.isImplicit ? 0
            : threads.values.reduce(0, +) - totals.reduce(0) { $0 + $1.count }
        let listing = Listing(configured: !directory.isImplicit, organisations: listed,
                              accountsWithoutOrganisation: stray, threadsWithoutOrganisation: orphaned)
        if json { return AdminResult(output: try AdminSession.json(listing)) }
        guard !directory.isImplicit else {
            return AdminResult(output: "no [[organisation]] configured: one implicit organisation with "
                + "\(accounts.count) accounts and \(threads.values.reduce(0, +)) threads"
                + (stray > 0 ? "\n\(stray) accounts name an organisation and cannot log in" : ""))
        }
        var lines = listed.map {
            "\($0.id)  \"\($0.name)\"  fields: \($0.fields.isEmpty ? "-" : $0.fields.joined(separator: ","))  "
                + "mailboxes: \($0.mailboxes)  accounts: \($0.accounts)"
                + ($0.disabledAccounts > 0 ? " (\($0.disabledAccounts) disabled)" : "") + "  threads: \($0.threads)"
                + "  key: \($0.key)"
        }
        if stray > 0 {
            lines.append("\(stray) accounts belong to no configured organisation and cannot log in "
                         + "(`mailbridge users move NAME --organisation ID`)")
        }
        if orphaned > 0 {
            lines.append("\(orphaned) threads are in fields no configured organisation owns; nobody sees them")
        }
        return AdminResult(output: lines.joined(separator: "\n"))
    }
}
