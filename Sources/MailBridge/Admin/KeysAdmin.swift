public import Foundation
import PGPShim

/// `mailbridge keys export` and `mailbridge keys wkd`: publishing the mailboxes' gateway keys.
public enum KeysAdmin {
    /// The armored public gateway key of `mailbox` (canonical address), or of every mailbox when nil.
    public static func export(_ installation: OpenedInstallation, mailbox: String?) async throws -> AdminResult {
        let chosen = try mailboxes(installation, mailbox)
        var output = ""
        for entry in chosen {
            output += String(decoding: try await installation.pgp.exportPublicKey(entry.gatewayKey, armored: true),
                             as: UTF8.self)
        }
        return AdminResult(output: output)
    }

    /// Writes the WKD files (draft-koch-openpgp-webkey-service §3.1) of every mailbox below `folder`, one
    /// document root per host: `<folder>/<host>/.well-known/openpgpkey/…`, for both the advanced
    /// (`openpgpkey.<domain>`) and the direct (`<domain>`) method. Keys are binary, files 0644, folders 0755.
    public static func writeWKD(_ installation: OpenedInstallation, to folder: URL) async throws -> AdminResult {
        var written: [String] = []
        for mailbox in installation.mailboxes {
            // The current key and any revoked keys with their revocations (issue 20).
            let key = try await mailbox.webKeyDirectoryKeys(pgp: installation.pgp)
            for method in WebKeyDirectory.Method.allCases {
                for file in WebKeyDirectory.files(localPart: mailbox.address.localPart, domain: mailbox.address.domain,
                                                  binaryKey: key, method: method) {
                    let url = folder.appendingPathComponent(file.host).appendingPathComponent(file.path)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(),
                                                            withIntermediateDirectories: true,
                                                            attributes: [.posixPermissions: 0o755])
                    try Data(file.contents).write(to: url)
                    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
                    written.append(url.path)
                }
            }
        }
        return AdminResult(output: written.map { "wrote \($0)" }.joined(separator: "\n"))
    }

    static func mailboxes(_ installation: OpenedInstallation, _ address: String?) throws -> [PipelineMailbox] {
        guard let address else { return installation.mailboxes }
        guard let wanted = try? EmailAddress(address),
            let match = installation.mailboxes.first(where: { $0.address.canonical == wanted.canonical })
        else { throw AdminUsageError("--mailbox is not a configured [[mailbox]] address") }
        return [match]
    }
}
