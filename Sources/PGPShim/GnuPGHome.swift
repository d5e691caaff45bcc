import Foundation

/// Prepares a GnuPG home folder for unattended, offline use by the gateway.
enum GnuPGHome {
    /// `gpg.conf`: never touch the network, never cache symmetric passphrases, keep output stable.
    static let gpgConf = """
        # Written by MailBridge. The gateway runs gpg unattended and offline.
        no-greeting
        no-permission-warning
        disable-dirmngr
        auto-key-locate local
        no-auto-key-retrieve
        no-symkey-cache
        keyid-format none
        with-fingerprint

        """

    /// `gpg-agent.conf`: passphrases come through gpgme's loopback callback, never a pinentry window.
    static let agentConf = """
        # Written by MailBridge.
        allow-loopback-pinentry
        no-allow-external-cache
        default-cache-ttl 0
        max-cache-ttl 0

        """

    /// Creates the folder with mode 0700 (gpg refuses group/world-accessible homes) and writes the two
    /// configuration files if they are missing. An existing folder with wider permissions is tightened.
    static func prepare(_ url: URL) throws(PGPError) {
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
            for (name, text) in [("gpg.conf", gpgConf), ("gpg-agent.conf", agentConf)] {
                let file = url.appendingPathComponent(name)
                if !manager.fileExists(atPath: file.path) {
                    guard manager.createFile(atPath: file.path, contents: Data(text.utf8),
                                             attributes: [.posixPermissions: 0o600])
                    else { throw PGPError(.homeDirectory, "cannot write \(file.path)") }
                }
            }
        } catch let error as PGPError {
            throw error
        } catch {
            throw PGPError(.homeDirectory, "cannot prepare the GnuPG home \(url.path): \(error.localizedDescription)")
        }
        // gpg-agent's socket path must fit sockaddr_un (108 bytes) unless /run/user/<uid>/gnupg is used.
        if url.path.utf8.count > 90 && !FileManager.default.fileExists(atPath: "/run/user/\(getuid())") {
            throw PGPError(.homeDirectory, "GnuPG home path is too long for gpg-agent's socket (max 90 bytes)")
        }
    }
}
