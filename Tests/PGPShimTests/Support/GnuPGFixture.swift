import Foundation
import TestSupport
import PGPShim

/// A temporary folder with an isolated GnuPG home for the gateway (driven through PGPShim) and another for a
/// "client" driven through the gpg command line. `close()` kills both agents and removes everything.
final class GnuPGFixture: @unchecked Sendable {
    let root: URL
    let gatewayHome: URL
    let clientHome: URL
    let service: PGPService
    let client: GnuPGClient

    /// `engine`: the gpg program the gateway's contexts run (``PGPConfiguration/engineExecutable``).
    init(passphrase: PassphraseSource = .none, maximumPlaintextBytes: Int = 8 * 1024 * 1024,
         concurrency: Int = 2, engine: String? = nil) throws {
        // Short paths: gpg-agent's socket path must fit in sockaddr_un.
        root = URL(fileURLWithPath: "/tmp/mb-pgp-\(UUID().uuidString.prefix(12))")
        gatewayHome = root.appendingPathComponent("gw")
        clientHome = root.appendingPathComponent("cl")
        client = try GnuPGClient(home: clientHome)
        service = try PGPService(configuration: PGPConfiguration(
            homeDirectory: gatewayHome, passphrase: passphrase, maximumPlaintextBytes: maximumPlaintextBytes,
            maximumConcurrentOperations: concurrency, engineExecutable: engine))
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

    @discardableResult
    func clientGPG(_ arguments: [String], stdin: [UInt8] = [], allowFailure: Bool = false) throws -> Shell.Result {
        try client.gpg(arguments, stdin: stdin, allowFailure: allowFailure)
    }

    func makeClientKey(_ address: String, extra: [String] = [], expiry: String = "never") throws -> KeyFingerprint {
        try client.makeKey(address, extra: extra, expiry: expiry)
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
