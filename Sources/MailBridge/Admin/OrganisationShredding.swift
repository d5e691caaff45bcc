// Security: crypto-shredding an organisation (issue 29), by the installation's administrator. The organisation's
// own master key is what makes its threads readable, in the store and in every backup: destroying each copy of it
// is the step that matters, and it comes last, after the store forgot everything of the organisation (threads,
// accounts with their sessions and tokens, key check) and its mailboxes' gateway keys left the keyring, so that
// neither a backup nor captured mail opens here again. Every step is idempotent: a run stopped half-way is run
// again. Output names counts, fingerprints and paths, never content or a person.

import Foundation
import MailValues
import PGPShim
import StorePostgres
import ThreadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mailbridge organisations shred ID --confirm ID`.
public enum OrganisationShredding {
    /// What a shredding did.
    struct Report: Encodable {
        var organisation: String
        var threads: Int
        var accounts: Int
        var gatewayKeys: [String]
        /// The key file destroyed, if the key was a file of this machine.
        var keyFile: String?
        /// What the administrator still has to do.
        var remaining: [String]
    }

    /// Shreds the configured organisation `id`; `confirm` must repeat it. Run it with the gateway stopped (on
    /// PostgreSQL: on every node, each stopped), then remove the `[[organisation]]` and its mailboxes from the
    /// configuration before starting again.
    public static func shred(_ installation: OpenedInstallation, id text: String, confirm: String, json: Bool = false)
        async throws -> AdminResult
    {
        guard let id = try? OrganisationID(text), id.rawValue == text,
              let organisation = installation.configuration.organisations.first(where: { $0.id == id })
        else { throw AdminUsageError("no [[organisation]] with the ID \(text) in the configuration") }
        guard confirm == text else {
            throw AdminUsageError("--confirm must repeat the organisation's ID: shredding cannot be undone")
        }
        let configuration = installation.configuration
        let fields = configuration.organisationDirectory.fields(of: id) ?? []
        let stores = installation.stores

        // 1. Its accounts, with their sessions and tokens (each deletion audited).
        let members = try await stores.inbox.accounts().filter { $0.organisation == id }
        for account in members {
            try await stores.accounts.deleteAccount(account.id, actor: nil, via: .commandLine)
        }
        // 2. Its mailboxes' gateway keys: out of this keyring and off the shared shelf.
        var retired: [String] = []
        for mailbox in configuration.mailboxes where mailbox.organisation == id {
            for record in try await stores.gatewayKeys.gatewayKeys(mailbox: mailbox.address.canonical) {
                var gone = try await installation.pgp.deleteKey(record.fingerprint)
                if case .postgresql(let opened) = installation.engine {
                    gone = try await opened.gatewayKeyShelf.remove(record.fingerprint) || gone
                }
                if gone { retired.append(record.fingerprint.hex) }
            }
        }
        // 3. Its threads and key check, audited in the installation's log.
        let threads = try await stores.maintenance.shredOrganisation(id, fields: fields,
                                                                     retiredGatewayKeys: retired.count)
        // 4. Its master key: the file here, overwritten and removed; a credential is the administrator's to destroy.
        let environment = ProcessInfo.processInfo.environment
        let path = configuration.organisationKeyPath(organisation, environment: environment)
        var remaining: [String] = []
        var destroyed: String?
        if path == organisation.keyFile(dataFolder: configuration.data.folder).string {
            if try destroyKeyFile(path) { destroyed = path }
        } else {
            remaining.append("destroy the source of the systemd credential \(organisation.credentialName) "
                             + "(LoadCredential=) and remove that line from the unit")
        }
        remaining.append("destroy every other copy of the organisation's key (key backups): backups of the store "
                         + "still hold its threads, sealed under that key")
        remaining.append("remove the [[organisation]] \(id.rawValue) and its [[mailbox]] tables from the "
                         + "configuration before the gateway starts again")
        if case .postgresql = installation.engine {
            remaining.append("run this command on every other node too (each keeps its own keyring and key file)")
        }
        let report = Report(organisation: id.rawValue, threads: threads, accounts: members.count,
                            gatewayKeys: retired, keyFile: destroyed, remaining: remaining)
        if json { return AdminResult(output: try AdminSession.json(report)) }
        var lines = ["organisation \(id.rawValue) shredded: \(threads) threads, \(members.count) accounts, "
                     + "\(retired.count) gateway keys deleted"]
        lines += retired.map { "  gateway key \($0) deleted" }
        lines.append(destroyed.map { "key file \($0) overwritten and removed" } ?? "no key file removed here")
        lines += remaining.map { "still to do: \($0)" }
        return AdminResult(output: lines.joined(separator: "\n"))
    }

    /// Overwrites `path` with zeros, syncs it and removes it; false when there is no such file.
    static func destroyKeyFile(_ path: String) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw AdminUsageError("cannot open the organisation's key file \(path) to destroy it")
        }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw AdminUsageError("\(path) is not a regular file; left untouched")
        }
        let zeros = [UInt8](repeating: 0, count: Int(status.st_size))
        let written = zeros.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == zeros.count, synced, unlink(path) == 0 else {
            throw AdminUsageError("cannot overwrite and remove \(path)")
        }
        return true
    }
}
