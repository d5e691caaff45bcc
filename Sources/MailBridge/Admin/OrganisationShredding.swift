// Security: crypto-shredding an organisation (issue 29), by the installation's administrator. The organisation's
// own master key is what makes its threads readable, in the store and in every backup: destroying each copy of it
// is the step that matters, and it comes last. First the store forgets everything of the organisation (threads by
// field and by their key's layer, accounts with their sessions and tokens, key check; audited), then its
// mailboxes' gateway keys leave the keyring (so captured mail to them never decrypts here again), then the key
// file is overwritten and removed. Every step can run again; an organisation already removed from the
// configuration can still be shredded by its ID (what the configuration no longer names, the output says).
// Output names counts, fingerprints and paths, never content or a person.

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
// Release builds can attribute glibc's `struct stat` to the CDispatch clang module (it includes the same header).
#if canImport(CDispatch)
import CDispatch
#endif

/// `mailbridge organisations shred ID --confirm ID`.
public enum OrganisationShredding {
    /// What a shredding did.
    struct Report: Encodable {
        var organisation: String
        var threads: Int
        var accounts: Int
        /// Messages for its mailboxes deleted from this node's spool, and kept rejected ones deleted.
        var spooledMessages: Int
        var rejectedMessages: Int
        var gatewayKeys: [String]
        /// The key file destroyed, if the key was a file of this machine.
        var keyFile: String?
        /// What the administrator still has to do.
        var remaining: [String]
    }

    /// Shreds organisation `id` (configured, or removed from the configuration already); `confirm` must repeat it.
    /// Run it with the gateway stopped (on PostgreSQL: every node, and run it on each), then remove the
    /// `[[organisation]]` and its mailboxes from the configuration before starting again.
    public static func shred(_ installation: OpenedInstallation, id text: String, confirm: String, json: Bool = false)
        async throws -> AdminResult
    {
        guard let id = try? OrganisationID(text), id.rawValue == text else {
            throw AdminUsageError("\(text) is not an organisation ID (1 to 64 characters of a-z, 0-9, '.', '_', '-')")
        }
        guard confirm == text else {
            throw AdminUsageError("--confirm must repeat the organisation's ID: shredding cannot be undone")
        }
        // Never beside a running gateway: it holds the organisation's key and would go on sealing mail under it.
        let claim: OfflineClaim
        do {
            claim = try OfflineClaim.take(gnupgHome: installation.configuration.keys.gnupgHome.string)
        } catch {
            throw AdminFailure(error.description)
        }
        defer { claim.release() }
        let configuration = installation.configuration
        let configured = configuration.organisations.first { $0.id == id }
        let stores = installation.stores
        let members = try await stores.inbox.accounts().filter { $0.organisation == id }
        guard configured != nil || !members.isEmpty || installation.engine.organisationKeys.hasKey(for: id)
            || FileManager.default.fileExists(
                atPath: BridgeConfiguration.Organisation.defaultKeyFile(id, dataFolder: configuration.data.folder).string)
        else { throw AdminUsageError("nothing of an organisation \(text) is known here") }
        let fields = configuration.organisationDirectory.fields(of: id) ?? []
        let mailboxes = configuration.mailboxes.filter { $0.organisation == id }

        // 1. Its accounts, with their sessions and tokens (each deletion audited).
        for account in members {
            try await stores.accounts.deleteAccount(account.id, actor: nil, via: .commandLine)
        }
        // 2. Its threads (by field and by key layer) and key check; the gateway keys about to go, audited.
        var fingerprints: [KeyFingerprint] = []
        for mailbox in mailboxes {
            fingerprints += try await stores.gatewayKeys.gatewayKeys(mailbox: mailbox.address.canonical)
                .map(\.fingerprint)
        }
        let threads = try await stores.maintenance.shredOrganisation(id, fields: fields,
                                                                     retiredGatewayKeys: fingerprints.count)
        // Its mail outside threads: waiting in this node's spool, or kept after a rejection.
        let purged = try await purgeMail(installation, mailboxes: Set(mailboxes.map(\.address.canonical)))
        // 3. Its mailboxes' gateway keys: out of this keyring and off the shared shelf.
        var retired: [String] = []
        for fingerprint in fingerprints {
            var gone = try await installation.pgp.deleteKey(fingerprint)
            if case .postgresql(let opened) = installation.engine {
                gone = try await opened.gatewayKeyShelf.remove(fingerprint) || gone
            }
            if gone { retired.append(fingerprint.hex) }
        }
        // 4. Its master key: the file here, overwritten and removed; a credential is the administrator's to destroy.
        var remaining: [String] = []
        let keyFile = (configured?.keyFile(dataFolder: configuration.data.folder)
            ?? BridgeConfiguration.Organisation.defaultKeyFile(id, dataFolder: configuration.data.folder)).string
        let destroyed = try destroyKeyFile(keyFile) ? keyFile : nil
        let credential = configured?.credentialName ?? BridgeConfiguration.Organisation.defaultCredentialName(id)
        remaining.append("if the key is also given as the systemd credential \(credential) (LoadCredential=), "
                         + "destroy its source and remove that line from the unit")
        if configured == nil {
            remaining.append("a key file at another path than \(keyFile) (the organisation is no longer configured, "
                             + "so its master-key-file is not known here): destroy it by hand")
        }
        remaining.append("destroy every other copy of the organisation's key (key backups): backups of the store "
                         + "still hold its threads, sealed under that key")
        if configured != nil {
            remaining.append("remove the [[organisation]] \(id.rawValue) and its [[mailbox]] tables from the "
                             + "configuration before the gateway starts again")
        }
        if case .postgresql = installation.engine {
            remaining.append("run this command on every other node too (each keeps its own keyring and key file)")
        }
        if configured == nil {
            remaining.append("messages for its former mailboxes in the spool or kept as rejected are not known here: "
                             + "see `mailbridge spool list` and `mailbridge spool list --rejected`")
        }
        let report = Report(organisation: id.rawValue, threads: threads, accounts: members.count,
                            spooledMessages: purged.spooled, rejectedMessages: purged.rejected,
                            gatewayKeys: retired, keyFile: destroyed, remaining: remaining)
        if json { return AdminResult(output: try AdminSession.json(report)) }
        var lines = ["organisation \(id.rawValue) shredded: \(threads) threads, \(members.count) accounts, "
                     + "\(purged.spooled) spooled and \(purged.rejected) kept rejected messages, "
                     + "\(retired.count) gateway keys deleted"]
        lines += retired.map { "  gateway key \($0) deleted" }
        lines.append(destroyed.map { "key file \($0) overwritten and removed" } ?? "no key file at \(keyFile)")
        lines += remaining.map { "still to do: \($0)" }
        return AdminResult(output: lines.joined(separator: "\n"))
    }

    /// Overwrites `path` with zeros, syncs it and removes it; false when there is no such file.
    static func destroyKeyFile(_ path: String) throws -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw AdminUsageError("cannot open the organisation's key file \(path) to destroy it (a symbolic link "
                                  + "is not followed: destroy its target by hand)")
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
