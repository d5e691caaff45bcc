// Security: `[[organisation]]` divides one installation among counselling providers that must not see each other
// (issue 29). The configuration decides which counselling fields (and so which threads) each organisation owns:
// every mailbox names its organisation, and a field belongs to exactly one, so that no thread can be reached from
// two organisations. The checks here refuse any configuration where that would not hold.

public import ThreadStore

extension BridgeConfiguration.Mailbox {
    /// The field as the store compares it (``CounsellingField``: case ignored); the text lower-cased for a name the
    /// loader refuses anyway.
    var fieldKey: String { (try? CounsellingField(field))?.rawValue ?? field.lowercased() }
}

// Issue 29: `[[organisation]]`, and each mailbox's `organisation`.
extension BridgeConfiguration {
    /// `[[organisation]]`: a counselling provider hosted on this installation.
    public struct Organisation: Sendable, Equatable {
        /// `id` (required): the stable ID accounts and mailboxes name, 1 to 64 characters of `a-z 0-9 . _ -`.
        /// Never reuse an ID: accounts stored with it belong to whoever holds it.
        public var id: OrganisationID
        /// `name` (required): the organisation's display name, 1 to 128 characters.
        public var name: String
        /// `[organisation.webhook]` (the table right after its `[[organisation]]`): the organisation's own platform
        /// endpoint, told of the events of its threads only. Options as `[webhook]`'s.
        public var webhook: Webhook?
        /// `master-key-file`, default `<data folder>/organisations/<id>.key`: the organisation's own master key
        /// (32 octets, mode 0600), used when its systemd credential is absent. Its threads are sealed under it as
        /// well as under the installation's key; without it they wait (``OrganisationKeys``).
        public var masterKeyFile: AbsolutePath?
        /// `master-key-credential`, default `mailbridge-organisation-<id>`: the systemd credential that, when
        /// present in `$CREDENTIALS_DIRECTORY`, takes precedence over the file.
        public var masterKeyCredential: String?

        public init(id: OrganisationID, name: String) {
            self.id = id
            self.name = name
        }

        /// The credential name in force (``masterKeyCredential`` or its default).
        public var credentialName: String { masterKeyCredential ?? Self.defaultCredentialName(id) }

        /// The key file in force (``masterKeyFile`` or its default under `dataFolder`).
        public func keyFile(dataFolder: AbsolutePath) -> AbsolutePath {
            masterKeyFile ?? Self.defaultKeyFile(id, dataFolder: dataFolder)
        }

        /// `master-key-credential`'s default for organisation `id`.
        public static func defaultCredentialName(_ id: OrganisationID) -> String {
            "mailbridge-organisation-\(id.rawValue)"
        }

        /// `master-key-file`'s default for organisation `id`: `<data folder>/organisations/<id>.key`.
        public static func defaultKeyFile(_ id: OrganisationID, dataFolder: AbsolutePath) -> AbsolutePath {
            dataFolder.appending("organisations").appending("\(id.rawValue).key")
        }
    }

    /// The organisations as one directory (fields per organisation), for the web inbox, the API and the commands.
    public var organisationDirectory: OrganisationDirectory {
        OrganisationDirectory(organisations: organisations, mailboxes: mailboxes)
    }

    /// Reads every `[[organisation]]` table (IDs unique); `declared`: whether there was any table, valid or not.
    static func readOrganisations(_ root: ConfigurationReader.Section, reader: ConfigurationReader)
        -> (organisations: [Organisation], declared: Bool)
    {
        var organisations: [Organisation] = []
        let sections = reader.arrayOfTables(root, "organisation")
        for section in sections {
            let expected = "1 to 64 characters of a-z, 0-9, '.', '_' or '-' (for example \"caritas-koeln\")"
            var id: OrganisationID?
            if let text = reader.requiredString(section, "id", expected: expected) {
                id = exactOrganisationID(text)
                if id == nil { reader.report(.invalidValue, section.optionPath("id"), expected: expected) }
            }
            let name = reader.text(section, "name", required: true, maxLength: 128, what: "the organisation's name")
            let webhook = readWebhook(reader.section(section, "webhook"), reader: reader)
            let keyFile = reader.path(section, "master-key-file")
            var credential = reader.text(section, "master-key-credential", required: false, maxLength: 255,
                                         what: "a systemd credential name")
            if let name = credential, name.contains("/") || name == "." || name == ".." {
                reader.report(.invalidValue, section.optionPath("master-key-credential"),
                              expected: "a systemd credential name without '/' (as in LoadCredential=NAME:PATH)")
                credential = nil
            }
            reader.finish(section)
            guard let id, let name else { continue }
            guard !organisations.contains(where: { $0.id == id }) else {
                reader.report(.duplicate, section.optionPath("id"), expected: "an ID no other [[organisation]] has")
                continue
            }
            var organisation = Organisation(id: id, name: name)
            organisation.webhook = webhook
            organisation.masterKeyFile = keyFile
            organisation.masterKeyCredential = credential
            organisations.append(organisation)
        }
        return (organisations, !sections.isEmpty)
    }

    /// `text` as an organisation ID if it is one as written (an ID is never lower-cased silently in the file).
    private static func exactOrganisationID(_ text: String) -> OrganisationID? {
        guard let id = try? OrganisationID(text), id.rawValue == text else { return nil }
        return id
    }

    /// Reads a mailbox's `organisation` (checked against the organisations by ``checkOrganisations``).
    static func readMailboxOrganisation(_ section: ConfigurationReader.Section, reader: ConfigurationReader)
        -> OrganisationID?
    {
        let expected = "the id of one of the [[organisation]] tables"
        guard let text = reader.string(section, "organisation", expected: expected) else { return nil }
        guard let id = exactOrganisationID(text) else {
            reader.report(.invalidValue, section.optionPath("organisation"), expected: expected)
            return nil
        }
        return id
    }

    /// With organisations, every mailbox names one of them and each field belongs to one only; without, no mailbox
    /// names any.
    /// `declared`: whether the file has `[[organisation]]` tables, valid or not (an invalid one is reported itself).
    /// `webhook`: the file's `[webhook]`, which would tell one platform of every organisation's threads.
    /// `keys`, `dataFolder`: no organisation's key file (as given or by default) may be the installation's or another
    /// organisation's.
    static func checkOrganisations(_ organisations: [Organisation], declared: Bool, mailboxes: [Mailbox],
                                   webhook: Webhook?, keys: KeysSection, dataFolder: AbsolutePath,
                                   reader: ConfigurationReader) {
        if declared && webhook != nil {
            reader.report(.conflictingOptions, "webhook",
                          expected: "no [webhook] next to [[organisation]] tables: each organisation names its own "
                              + "platform in an [organisation.webhook] table after its [[organisation]]")
        }
        // One organisation's platform hears of its threads only, and only its platform holds its signing secrets.
        var urls: [String: OrganisationID] = [:], secrets: [String: OrganisationID] = [:]
        for (index, organisation) in organisations.enumerated() {
            guard let hook = organisation.webhook else { continue }
            let option = "organisation[\(index + 1)].webhook"
            if let first = urls[hook.url], first != organisation.id {
                reader.report(.conflictingOptions, option + ".url", expected: "a URL no other organisation uses")
            }
            if let first = secrets[hook.secretFile.string], first != organisation.id {
                reader.report(.conflictingOptions, option + ".secret-file",
                              expected: "a secret file no other organisation uses")
            }
            urls[hook.url] = organisation.id
            secrets[hook.secretFile.string] = organisation.id
        }
        // One organisation's key opens its threads only: no two share a key file or a credential.
        var keyFiles: [String: OrganisationID] = [:], credentials: [String: OrganisationID] = [:]
        for (index, organisation) in organisations.enumerated() {
            let option = "organisation[\(index + 1)]"
            // Compared as they are read: an explicit path against another's default one too.
            let file = organisation.keyFile(dataFolder: dataFolder).string
            if keyFiles[file] != nil || file == keys.masterKeyFile.string {
                reader.report(.conflictingOptions, option + ".master-key-file",
                              expected: "a key file no other organisation and not the installation uses")
            }
            keyFiles[file] = organisation.id
            if credentials[organisation.credentialName] != nil {
                reader.report(.conflictingOptions, option + ".master-key-credential",
                              expected: "a credential name no other organisation uses")
            }
            credentials[organisation.credentialName] = organisation.id
        }
        let known = Set(organisations.map(\.id))
        var owner: [String: OrganisationID] = [:]  // field → the organisation of its first mailbox
        var teams: [String: OrganisationID] = [:]  // team address → the organisation of its first mailbox
        for (index, mailbox) in mailboxes.enumerated() {
            let option = "mailbox[\(index + 1)].organisation"
            guard declared else {
                if mailbox.organisation != nil {
                    reader.report(.invalidValue, option,
                                  expected: "no organisation: this file has no [[organisation]] table")
                }
                continue
            }
            guard let id = mailbox.organisation else {
                reader.report(.missingOption, option,
                              expected: "the id of one of the [[organisation]] tables (every mailbox names one)")
                continue
            }
            guard known.contains(id) else {
                reader.report(.invalidValue, option, expected: "the id of one of the [[organisation]] tables")
                continue
            }
            // Compared as the store compares fields (case ignored), so "Sucht" and "sucht" are one field.
            let field = mailbox.fieldKey
            if let first = owner[field], first != id {
                reader.report(.conflictingOptions, option,
                              expected: "the organisation of every other mailbox of field \"\(mailbox.field)\" "
                                  + "(a counselling field belongs to one organisation)")
            } else {
                owner[field] = id
            }
            // A team address hears of its mailboxes' threads (and counts them in digests): one organisation's only.
            let team = mailbox.teamNotificationAddress.canonical
            if let first = teams[team], first != id {
                reader.report(.conflictingOptions, "mailbox[\(index + 1)].team-notification-address",
                              expected: "an address no mailbox of another organisation uses")
            } else {
                teams[team] = id
            }
        }
    }

    /// The `[[organisation]]` tables of ``tomlText``.
    func organisationTOMLLines() -> [String] {
        organisations.flatMap { organisation -> [String] in
            var lines = ["", "[[organisation]]", "id = \(Self.quoted(organisation.id.rawValue))",
                         "name = \(Self.quoted(organisation.name))"]
            if let file = organisation.masterKeyFile { lines.append("master-key-file = \(Self.quoted(file.string))") }
            if let name = organisation.masterKeyCredential {
                lines.append("master-key-credential = \(Self.quoted(name))")
            }
            if let hook = organisation.webhook { lines += Self.webhookTOMLLines(hook, table: "organisation.webhook") }
            return lines
        }
    }
}

/// Which counselling fields each organisation owns, as the configuration says: the rule every web route, API route
/// and command decides an account's reach with (issue 29). Without `[[organisation]]` the installation is one
/// implicit organisation that owns every field.
public struct OrganisationDirectory: Sendable, Equatable {
    /// The configured organisations, in file order; empty for the implicit one.
    public let organisations: [BridgeConfiguration.Organisation]
    private let fields: [OrganisationID: Set<CounsellingField>]
    /// Organisations whose own master key is not loaded (issue 29): no account of theirs reaches anything.
    private var closed: Set<OrganisationID> = []

    /// This directory with `organisations` closed: their accounts reach nothing until their key is back.
    public func closing(_ organisations: some Sequence<OrganisationID>) -> OrganisationDirectory {
        var directory = self
        directory.closed.formUnion(organisations)
        return directory
    }

    /// The display name of `organisation`, if it is configured.
    public func name(of organisation: OrganisationID?) -> String? {
        organisation.flatMap { id in organisations.first { $0.id == id }?.name }
    }

    /// The configured organisation whose ID is exactly `text` (a link's `?organisation=`), if any.
    public func configuredID(_ text: String) -> OrganisationID? {
        organisations.first { $0.id.rawValue == text }?.id
    }

    /// Whether `organisation` is closed (``closing(_:)``).
    public func isClosed(_ organisation: OrganisationID?) -> Bool { organisation.map(closed.contains) ?? false }

    /// The directory of `organisations` owning the fields of `mailboxes`.
    public init(organisations: [BridgeConfiguration.Organisation], mailboxes: [BridgeConfiguration.Mailbox]) {
        self.organisations = organisations
        var fields: [OrganisationID: Set<CounsellingField>] = [:]
        for organisation in organisations { fields[organisation.id] = [] }
        for mailbox in mailboxes {
            guard let id = mailbox.organisation, let field = try? CounsellingField(mailbox.field) else { continue }
            fields[id]?.insert(field)
        }
        self.fields = fields
    }

    /// The installation as one organisation (no `[[organisation]]`).
    public static let implicit = OrganisationDirectory(organisations: [], mailboxes: [])

    /// Whether the installation has no `[[organisation]]`.
    public var isImplicit: Bool { organisations.isEmpty }

    /// The organisation of `id`, if configured.
    public func organisation(_ id: OrganisationID) -> BridgeConfiguration.Organisation? {
        organisations.first { $0.id == id }
    }

    /// The fields `organisation` owns; nil when it is not configured.
    public func fields(of organisation: OrganisationID) -> Set<CounsellingField>? { fields[organisation] }

    /// Each configured organisation (in file order) with the sum of `perField` over its fields; fields no
    /// organisation owns count for none.
    public func totals(_ perField: [CounsellingField: Int]) -> [(organisation: BridgeConfiguration.Organisation,
                                                                  count: Int)] {
        organisations.map { organisation in
            (organisation, (fields[organisation.id] ?? []).reduce(0) { $0 + (perField[$1] ?? 0) })
        }
    }

    /// What an account of `organisation` may reach: ``Reach/everyField`` in the implicit organisation, the
    /// organisation's fields otherwise; nil (nothing: the account may not work) when the account names no
    /// configured organisation, or names one while the installation has none.
    public func reach(of organisation: OrganisationID?) -> Reach? {
        if let organisation, closed.contains(organisation) { return nil }
        switch (isImplicit, organisation) {
        case (true, nil): return .everyField
        case (false, let id?): return fields[id].map(Reach.fields)
        default: return nil
        }
    }

    /// The fields an account's organisation lets it reach.
    public enum Reach: Hashable, Sendable {
        /// The implicit organisation: every field.
        case everyField
        /// These fields only (an organisation's).
        case fields(Set<CounsellingField>)

        /// Whether `field` is within reach.
        public func contains(_ field: CounsellingField) -> Bool {
            switch self {
            case .everyField: true
            case .fields(let fields): fields.contains(field)
            }
        }
    }
}
