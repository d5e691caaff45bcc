public import Foundation

/// Where the gateway key's passphrase comes from. The default is none (the key is unprotected and the keyring
/// folder's permissions protect it); a file or a systemd credential can supply one.
public enum PassphraseSource: Sendable, Hashable {
    case none
    /// A file holding the passphrase (a trailing newline is dropped).
    case file(URL)
    /// A systemd credential (`LoadCredential=`), read from `$CREDENTIALS_DIRECTORY/<name>`.
    case systemdCredential(name: String)

    /// Reads the passphrase bytes. Never logs or returns them in an error.
    func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws(PGPError) -> [UInt8]? {
        let url: URL
        switch self {
        case .none:
            return nil
        case .file(let file):
            url = file
        case .systemdCredential(let name):
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !name.contains("/") else {
                throw PGPError(.invalidInput, "systemd credential '\(name)' is not available (no $CREDENTIALS_DIRECTORY)")
            }
            url = URL(fileURLWithPath: directory).appendingPathComponent(name)
        }
        guard var bytes = FileManager.default.contents(atPath: url.path).map(Array.init) else {
            throw PGPError(.invalidInput, "cannot read the passphrase file \(url.path)")
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        guard !bytes.isEmpty, !bytes.contains(0x0A), !bytes.contains(0) else {
            throw PGPError(.invalidInput, "the passphrase file \(url.path) must hold one non-empty line")
        }
        return bytes
    }
}

extension PassphraseSource {
    /// Checks that the passphrase can be read (for `check-config`), without handing it out.
    public func checkReadable(environment: [String: String] = ProcessInfo.processInfo.environment) throws(PGPError) {
        if var bytes = try load(environment: environment) {
            for index in bytes.indices { bytes[index] = 0 }
        }
    }
}
