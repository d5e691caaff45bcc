// Security: prepares the data folder for a command that opens the store, and creates the master key only where
// the configuration reads it, only for a new installation (no store yet) and never while a systemd credential
// supplies the key. Issue 22: opening an installation used to write a second, unused key into the data folder.

public import Foundation
import ThreadStore

extension DataFolderInitializer {
    /// What the systemd unit (`systemd/mailbridge.service`) expects: it hands `/etc/mailbridge/master.key` to the
    /// service as the credential `mailbridge-master-key` (`LoadCredential=NAME:PATH`). `SystemdUnitKeyTests`
    /// checks these values against the unit file.
    public enum SystemdUnit {
        /// The file the unit's `LoadCredential=` reads.
        public static let masterKeySource = "/etc/mailbridge/master.key"
        /// The credential name the unit gives it.
        public static let masterKeyCredential = BridgeConfiguration.KeysSection.defaultCredentialName
        /// The unit file, as installed by `scripts/install`.
        public static let unitFile = "/etc/systemd/system/mailbridge.service"
    }

    /// For a command that opens the installation: creates the data folder and the GnuPG home (0700) if missing,
    /// and the master key at `[keys] master-key-file` only if there is neither a store nor a systemd credential
    /// (a first `serve --embedded`). An existing store whose key is missing gets no new key: the store would not
    /// open with it, and ``BridgeConfiguration/KeysSection/loadMasterKey(environment:)`` reports the missing key.
    ///
    /// ```swift
    /// let report = try DataFolderInitializer.prepare(configuration)
    /// ```
    @discardableResult
    public static func prepare(
        _ configuration: BridgeConfiguration, environment: [String: String]? = nil
    ) throws(Failure) -> Report {
        var report = Report()
        try makeFolder(configuration.data.folder, report: &report)
        try makeFolder(configuration.keys.gnupgHome, report: &report)
        let environment = environment ?? ProcessInfo.processInfo.environment
        let keys = configuration.keys
        let fromCredential = keys.masterKeyPath(environment: environment) { FileManager.default.fileExists(atPath: $0) }
            != keys.masterKeyFile.string
        let store = configuration.data.folder.appending("threads.sqlite")
        guard !fromCredential, !FileManager.default.fileExists(atPath: store.string) else { return report }
        try makeFolder(parentFolder(of: keys.masterKeyFile), report: &report, createOnly: true)
        try createMasterKey(at: keys.masterKeyFile, report: &report)
        return report
    }

    /// Issue 29: the key file of each organisation whose key is neither a present credential nor an existing file
    /// (existing ones are kept, never overwritten). Only `init` makes them, never a start: a key missing at start
    /// is reported and its organisation waits, it is not replaced by a new one.
    static func createOrganisationKeys(_ configuration: BridgeConfiguration, report: inout Report,
                                       environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(Failure)
    {
        for organisation in configuration.organisations {
            let file = organisation.keyFile(dataFolder: configuration.data.folder)
            guard configuration.organisationKeyPath(organisation, environment: environment) == file.string else {
                continue
            }
            try makeFolder(parentFolder(of: file), report: &report, createOnly: true)
            try createMasterKey(at: file, report: &report)
            report.notes.append("organisation \(organisation.id.rawValue)'s key: \(file.string) (keep a backup apart "
                                + "from the data; deleting every copy crypto-shreds the organisation's threads)")
        }
    }

    /// Where the master key is, for `init`'s output; with a configuration file (`forUnit`) also how the systemd unit
    /// reaches it, or what to change when the unit would not find it.
    static func masterKeyNotes(_ keys: BridgeConfiguration.KeysSection, forUnit: Bool) -> [String] {
        var notes = ["master key: \(keys.masterKeyFile.string) (the only copy: keep a backup apart from the data)"]
        guard forUnit else { return notes }
        let unitLine = "LoadCredential=\(SystemdUnit.masterKeyCredential):\(SystemdUnit.masterKeySource)"
        if keys.masterKeyFile.string == SystemdUnit.masterKeySource
            && keys.masterKeyCredential == SystemdUnit.masterKeyCredential
        {
            notes.append("the systemd unit hands it to the service as the credential "
                + "\(SystemdUnit.masterKeyCredential) (\(unitLine))")
        } else {
            notes.append("note: the systemd unit reads \(unitLine); change that line in \(SystemdUnit.unitFile) to "
                + "LoadCredential=\(keys.masterKeyCredential):\(keys.masterKeyFile.string) before `systemctl start "
                + "mailbridge`")
        }
        return notes
    }
}
