// Security: everything here is public by design: the counselling addresses, their fields and their gateway
// *public* keys. It is built once from configuration and the keyring; no request and no client data reaches it.

public import Foundation
import NIOConcurrencyHelpers
public import PGPShim
import ThreadStore

/// What the public help page (issue 17) shows for each counselling address: the gateway key's fingerprint and
/// the key itself, armored for download and binary for WKD.
///
/// ```swift
/// let help = try await HelpDirectory.make(mailboxes: installation.mailboxes, pgp: pgp, receiptPeriodHours: 24)
/// ```
public struct HelpDirectory: Sendable {
    public struct Entry: Sendable {
        public var address: EmailAddress
        /// The counselling field's name, shown as the section's subtitle.
        public var field: String
        public var fingerprint: KeyFingerprint
        /// `gpg --export --armor --export-options export-minimal`: what the download serves.
        public var armoredKey: [UInt8]
        /// The same key unarmored, as WKD requires (draft-koch-openpgp-webkey-service §3.1).
        public var binaryKey: [UInt8]
    }

    /// The entries in force, shared by every copy of this directory (the routes hold one): ``publish(_:)``
    /// replaces them for all after a key rotation, revocation or extension (issue 20). Setting `entries` gives
    /// this copy entries of its own.
    public var entries: [Entry] {
        get { live.value }
        set { live = LiveEntries(newValue) }
    }
    private var live: LiveEntries
    /// At most one receipt per this many hours for a validly signed message (`[receipt]`), nil when receipts are
    /// off: the page says so.
    public var receiptPeriodHours: Int?
    /// Issue 29: the organisation of each counselling address (canonical), shown with it; `?organisation=ID`
    /// shows one organisation's addresses under its name. Empty without `[[organisation]]`.
    public var organisations: [String: Organisation] = [:]

    /// An organisation as the public page names it (configuration: its ID and display name).
    public struct Organisation: Sendable, Hashable {
        public var id: String
        public var name: String

        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    /// Each mailbox's organisation (by canonical address) as `configuration` names it; empty without organisations.
    public static func organisations(of configuration: BridgeConfiguration) -> [String: Organisation] {
        let directory = configuration.organisationDirectory
        var names: [String: Organisation] = [:]
        for mailbox in configuration.mailboxes {
            guard let id = mailbox.organisation, let name = directory.name(of: id) else { continue }
            names[mailbox.address.canonical] = Organisation(id: id.rawValue, name: name)
        }
        return names
    }

    /// The organisation named `id` on this page, if one of its addresses is listed.
    func organisation(id: String) -> Organisation? { organisations.values.first { $0.id == id } }

    /// The entries to show: all, or those of `organisation`.
    func entries(of organisation: Organisation?) -> [Entry] {
        guard let organisation else { return entries }
        return entries.filter { organisations[$0.address.canonical] == organisation }
    }

    public init(entries: [Entry], receiptPeriodHours: Int?) {
        self.live = LiveEntries(entries)
        self.receiptPeriodHours = receiptPeriodHours
    }

    /// Replaces the entries of this directory and of every copy made of it.
    public func publish(_ entries: [Entry]) { live.value = entries }

    /// Exports each mailbox's gateway public key (minimal: self-signatures only).
    public static func make(mailboxes: [PipelineMailbox], pgp: PGPService, receiptPeriodHours: Int?) async throws
        -> HelpDirectory
    {
        HelpDirectory(entries: try await entries(mailboxes: mailboxes, pgp: pgp),
                      receiptPeriodHours: receiptPeriodHours)
    }

    /// One entry per mailbox: its current key, and for WKD the current key followed by the mailbox's revoked
    /// keys with their revocations ("a server may return revoked keys in addition to a new key … as concatenated
    /// key blocks", draft-koch-openpgp-webkey-service §3.1), so a client that refreshes learns of them.
    public static func entries(mailboxes: [PipelineMailbox], pgp: PGPService) async throws -> [Entry] {
        var entries: [Entry] = []
        for mailbox in mailboxes {
            entries.append(Entry(
                address: mailbox.address, field: mailbox.field.unredactedDescription, fingerprint: mailbox.gatewayKey,
                armoredKey: try await pgp.exportPublicKey(mailbox.gatewayKey, armored: true, minimal: true),
                binaryKey: try await mailbox.webKeyDirectoryKeys(pgp: pgp)))
        }
        return entries
    }

    /// The fingerprint in groups of four hex digits, as mail programs show it (`7A3F 09C2 …`).
    public static func grouped(_ fingerprint: KeyFingerprint) -> String {
        var groups: [String] = []
        var rest = Substring(fingerprint.hex.uppercased())
        while !rest.isEmpty {
            groups.append(String(rest.prefix(4)))
            rest = rest.dropFirst(4)
        }
        return groups.joined(separator: " ")
    }

    /// The entry whose key file is `<FINGERPRINT>.asc`.
    func entry(keyFile name: String) -> Entry? {
        guard name.hasSuffix(".asc") else { return nil }
        let hex = name.dropLast(4).uppercased()
        return entries.first { $0.fingerprint.hex.uppercased() == hex }
    }

    /// The entry whose WKD hash (of the local part) and domain match; `domain` nil for the direct method's path,
    /// which does not name it (the host does).
    func entry(wkdHash hash: String, domain: String?) -> Entry? {
        entries.first { entry in
            WebKeyDirectory.hashedLocalPart(entry.address.localPart) == hash
                && (domain.map { $0.lowercased() == entry.address.domain.lowercased() } ?? true)
        }
    }
}

/// The help directory's entries behind a lock, shared by the copies of one ``HelpDirectory``.
private final class LiveEntries: Sendable {
    private let box: NIOLockedValueBox<[HelpDirectory.Entry]>

    init(_ entries: [HelpDirectory.Entry]) { box = NIOLockedValueBox(entries) }

    var value: [HelpDirectory.Entry] {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}
