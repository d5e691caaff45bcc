public import NIOPosix
import NIOCore

/// The asynchronous front of PGPShim. Every gpgme call blocks (it runs a gpg process), so operations run on a
/// dedicated `NIOThreadPool` whose thread count bounds how many contexts exist at once; never on an event loop.
///
/// ```swift
/// let pgp = try PGPService(configuration: .init(homeDirectory: dataDir.appendingPathComponent("gnupg")))
/// let outcome = try await pgp.withContext { try $0.decryptAndVerify(ciphertext) }
/// try await pgp.shutdown()
/// ```
public final class PGPService: Sendable {
    public let configuration: PGPConfiguration
    private let pool: NIOThreadPool

    /// Prepares the GnuPG home (0700, offline `gpg.conf`, loopback-only agent) and starts the worker threads.
    public init(configuration: PGPConfiguration) throws(PGPError) {
        try GPGME.ensureInitialized()
        try GnuPGHome.prepare(configuration.homeDirectory)
        self.configuration = configuration
        self.pool = NIOThreadPool(numberOfThreads: configuration.maximumConcurrentOperations)
        pool.start()
    }

    /// The gpgme library version in use.
    public static var libraryVersion: String? { GPGME.version }

    /// Runs `body` with a fresh context on a worker thread. The context is created, used and released on that
    /// thread and cannot escape (it is not Sendable).
    public func withContext<T: Sendable>(_ body: @escaping @Sendable (GPGContext) throws -> T) async throws -> T {
        let configuration = self.configuration
        return try await pool.runIfActive {
            let context = try GPGContext(configuration: configuration)
            return try body(context)
        }
    }

    public func decryptAndVerify(_ ciphertext: [UInt8]) async throws -> DecryptionOutcome {
        try await withContext { try $0.decryptAndVerify(ciphertext) }
    }

    public func encrypt(_ plaintext: [UInt8], to recipients: [KeyFingerprint],
                        signer: KeyFingerprint?) async throws -> [UInt8] {
        try await withContext { try $0.encrypt(plaintext, to: recipients, signer: signer) }
    }

    public func verifyDetached(signature: [UInt8], signedData: [UInt8]) async throws -> [SignatureVerdict] {
        try await withContext { try $0.verifyDetached(signature: signature, signedData: signedData) }
    }

    public func importPublicKeys(_ keyData: [UInt8]) async throws -> ImportSummary {
        try await withContext { try $0.importPublicKeys(keyData) }
    }

    public func exportPublicKey(_ fingerprint: KeyFingerprint, armored: Bool = true,
                                minimal: Bool = false) async throws -> [UInt8] {
        try await withContext { try $0.exportPublicKey(fingerprint, armored: armored, minimal: minimal) }
    }

    public func key(_ fingerprint: KeyFingerprint, secret: Bool = false) async throws -> KeyInfo? {
        try await withContext { try $0.key(fingerprint, secret: secret) }
    }

    public func keys(forEmail email: String) async throws -> [KeyInfo] {
        try await withContext { try $0.keys(forEmail: email) }
    }

    public func generateKey(userID: String, expiresInSeconds: UInt = 0) async throws -> KeyFingerprint {
        try await withContext { try $0.generateKey(userID: userID, expiresInSeconds: expiresInSeconds) }
    }

    /// Stops the worker threads after queued operations finish.
    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
