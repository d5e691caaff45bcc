// Security: reads each organisation's own master key (issue 29) with the installation key's reader
// (`MasterKey(contentsOf:requireOwnerOnly:)`): a regular file of exactly 32 octets, owner-only unless it is a
// systemd credential. A key that cannot be read leaves its organisation waiting, never the others: the gateway
// reports it and keeps that organisation's mail spooled. Errors name paths, never key material.

public import Foundation
public import ThreadStore

extension BridgeConfiguration {
    /// The organisations' keys as far as they can be read, and why the others cannot.
    public struct LoadedOrganisationKeys: Sendable {
        /// The fields per organisation and every key that could be read (``OrganisationKeys``).
        public var keys: OrganisationKeys
        /// The organisations whose key could not be read (or is the installation's own, or another's), and why.
        public var problems: [OrganisationID: String]
    }

    /// Reads the key of every `[[organisation]]`: its systemd credential when present, otherwise its key file.
    /// `installationKey`: refused as an organisation's key (it would add nothing).
    public func loadOrganisationKeys(installationKey: MasterKey,
                                     environment: [String: String] = ProcessInfo.processInfo.environment)
        -> LoadedOrganisationKeys
    {
        let directory = organisationDirectory
        var owners: [OrganisationID: Set<CounsellingField>] = [:]
        for organisation in organisations { owners[organisation.id] = directory.fields(of: organisation.id) ?? [] }
        var keys = OrganisationKeys(owners: owners)
        var problems: [OrganisationID: String] = [:]
        for organisation in organisations {
            let path = organisationKeyPath(organisation, environment: environment)
            let isCredential = path != organisation.keyFile(dataFolder: data.folder).string
            do {
                let key = try MasterKey(contentsOf: URL(fileURLWithPath: path), requireOwnerOnly: !isCredential)
                guard !key.isSameKey(as: installationKey) else {
                    problems[organisation.id] = "organisation key \(path) is the installation's master key"
                    continue
                }
                do { try keys.add(key, for: organisation.id) } catch {
                    problems[organisation.id] = "organisation key \(path) is another organisation's key"
                }
            } catch {
                problems[organisation.id] = switch error.code {
                case .masterKeyInvalidLength: "organisation key \(path) is not 32 octets long"
                case .masterKeyInsecurePermissions: "organisation key \(path) is accessible by group or others"
                default: "organisation key \(path) cannot be read (a new organisation: create it with "
                    + "`mailbridge init`; an existing one: put it back from your key backup)"
                }
            }
        }
        return LoadedOrganisationKeys(keys: keys, problems: problems)
    }

    /// Where `organisation`'s key is read: its credential if present in `$CREDENTIALS_DIRECTORY`, else its file.
    func organisationKeyPath(_ organisation: Organisation, environment: [String: String]) -> String {
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let candidate = (directory.hasSuffix("/") ? directory : directory + "/") + organisation.credentialName
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return organisation.keyFile(dataFolder: data.folder).string
    }
}
