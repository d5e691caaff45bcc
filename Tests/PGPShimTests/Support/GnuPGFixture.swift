import Foundation
import PGPShim

/// A temporary folder with an isolated GnuPG home for the gateway (driven through PGPShim) and another for a
/// "client" driven through the gpg command line. `close()` kills both agents and removes everything.
final class GnuPGFixture: @unchecked Sendable {
    let root: URL
    let gatewayHome: URL
    let clientHome: URL
    let service: PGPService

    init(passphrase: PassphraseSource = .none, maximumPlaintextBytes: Int = 8 * 1024 * 1024,
         concurrency: Int = 2) throws {
        // Short paths: gpg-agent's socket path must fit in sockaddr_un.
        root = URL(fileURLWithPath: "/tmp/mb-pgp-\(UUID().uuidString.prefix(12))")
        gatewayHome = root.appendingPathComponent("gw")
        clientHome = root.appendingPathComponent("cl")
        try FileManager.default.createDirectory(at: clientHome, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try Data("disable-dirmngr\nauto-key-locate local\nno-auto-key-retrieve\n".utf8)
            .write(to: clientHome.appendingPathComponent("gpg.conf"))
        service = try PGPService(configuration: PGPConfiguration(
            homeDirectory: gatewayHome, passphrase: passphrase, maximumPlaintextBytes: maximumPlaintextBytes,
            maximumConcurrentOperations: concurrency))
    }

    /// Stops the worker threads; the folder and agents go in `deinit`, which also runs when a test throws.
    func close() async {
        try? await service.shutdown()
    }

    deinit {
        for home in [gatewayHome, clientHome] {
            _ = try? Shell.run("gpgconf", ["--homedir", home.path, "--kill", "all"], allowFailure: true)
        }
        try? FileManager.default.removeItem(at: root)
    }

    /// The gateway key, generated through PGPShim.
    func makeGatewayKey(_ address: String = "beratung@example.org") async throws -> KeyFingerprint {
        try await service.generateKey(userID: "Beratung <\(address)>")
    }

    /// Runs the client's gpg with batch, loopback pinentry and an empty passphrase.
    @discardableResult
    func clientGPG(_ arguments: [String], stdin: [UInt8] = [], allowFailure: Bool = false) throws -> Shell.Result {
        try Shell.run("gpg", ["--homedir", clientHome.path, "--batch", "--yes", "--pinentry-mode", "loopback",
                              "--passphrase", "", "--trust-model", "always"] + arguments,
                      stdin: stdin, allowFailure: allowFailure)
    }

    /// Generates a client key (Ed25519 + Cv25519) with the gpg CLI and returns its fingerprint.
    func makeClientKey(_ address: String, extra: [String] = [], expiry: String = "never") throws -> KeyFingerprint {
        try clientGPG(extra + ["--quick-gen-key", "Klient <\(address)>", "ed25519", "sign,cert", expiry])
        let fingerprint = try clientFingerprint(address)
        try clientGPG(extra + ["--quick-add-key", fingerprint.hex, "cv25519", "encr", expiry])
        return fingerprint
    }

    func clientFingerprint(_ address: String) throws -> KeyFingerprint {
        let listing = String(decoding: try clientGPG(["--with-colons", "--list-keys", "<\(address)>"]).stdout,
                             as: UTF8.self)
        let line = listing.split(separator: "\n").first { $0.hasPrefix("fpr:") }!
        return try KeyFingerprint(String(line.split(separator: ":", omittingEmptySubsequences: false)[9]))
    }

    /// Exchanges public keys both ways between the client's keyring and the gateway.
    func exchangeKeys(gateway: KeyFingerprint, client: KeyFingerprint) async throws {
        let clientPublic = try clientGPG(["--export", "--armor", client.hex]).stdout
        _ = try await service.importPublicKeys(clientPublic)
        let gatewayPublic = try await service.exportPublicKey(gateway)
        try clientGPG(["--import"], stdin: gatewayPublic)
    }

    func file(_ name: String) -> URL { root.appendingPathComponent(name) }
}

extension Array where Element == UInt8 {
    init(_ string: String) { self = Array(string.utf8) }
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension DecryptionOutcome {
    var message: DecryptedMessage? {
        if case .decrypted(let message) = self { return message }
        return nil
    }
    var failure: DecryptionFailure? {
        if case .failed(let failure) = self { return failure }
        return nil
    }
}
