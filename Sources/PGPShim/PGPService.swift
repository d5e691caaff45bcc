import Foundation
import NIOCore
import NIOPosix

/// The asynchronous front of PGPShim. Every gpgme call blocks (it runs a gpg process), so operations run on a
/// dedicated `NIOThreadPool`, never on an event loop. Each pool thread keeps one context of its own
/// (thread-specific), so the number of contexts is bounded by the thread count and a context is only ever used
/// by the thread that created it. Creating a context per operation was measured 25-30 % slower
/// (`scripts/bench-pgp`), because gpgme queries the engine whenever a context is bound to a home folder.
///
/// ```swift
/// let pgp = try PGPService(configuration: .init(homeDirectory: dataDir.appendingPathComponent("gnupg")))
/// let outcome = try await pgp.withContext { try $0.decryptAndVerify(ciphertext) }
/// try await pgp.shutdown()
/// ```
public final class PGPService: Sendable {
    public let configuration: PGPConfiguration
    private let pool: NIOThreadPool
    private let contexts = ContextCache()
    private let keyring: KeyringLock

    /// Prepares the GnuPG home (0700, offline `gpg.conf`, loopback-only agent) and starts the worker threads.
    public init(configuration: PGPConfiguration) throws(PGPError) {
        try GPGME.ensureInitialized()
        try GnuPGHome.prepare(configuration.homeDirectory)
        self.configuration = configuration
        self.keyring = KeyringLock(home: configuration.homeDirectory.path)
        self.pool = NIOThreadPool(numberOfThreads: configuration.maximumConcurrentOperations)
        pool.start()
    }

    /// The gpgme library version in use.
    public static var libraryVersion: String? { GPGME.version }

    /// Runs `body` with this worker thread's context. The context is created, used and released on that
    /// thread and cannot escape (it is not Sendable). After an engine failure the thread's context is discarded
    /// and the next operation starts with a new one.
    /// `changesKeyring`: the operation imports or generates keys, so it runs alone (``KeyringLock``); every
    /// other operation may run beside other readers.
    public func withContext<T: Sendable>(changesKeyring: Bool = false,
                                         _ body: @escaping @Sendable (GPGContext) throws -> T) async throws -> T {
        let configuration = self.configuration
        let contexts = self.contexts
        let keyring = self.keyring
        return try await pool.runIfActive {
            let context = try contexts.current(configuration)
            let home = configuration.homeDirectory.path
            if KeyboxRepair.isTorn(home: home) {
                // A gpg killed between its two renames left no keyring; finish its replacement first.
                keyring.with(.write) { _ = KeyboxRepair.repair(home: home) }
            }
            do {
                return try keyring.with(changesKeyring ? .write : .read) { try body(context) }
            } catch let error as PGPError where error.code == .operationFailed || error.code == .engineUnavailable {
                contexts.discardCurrent()
                throw error
            }
        }
    }

    /// See ``GPGContext/decryptAndVerify(_:forKeys:)``: `keys` are the primary fingerprints allowed to decrypt
    /// (the addressed mailbox's key); nil allows any secret key in the home.
    ///
    /// A run that ends without any closing status line is a killed gpg (issue 28) or input gpg gives up on without
    /// saying so (some corrupt packets). The first is chance, the second repeats: the run is tried again, and
    /// after ``unfinishedRunAttempts`` unfinished runs in a row the last one is judged by what it reported, if
    /// every one of them ended at the same point after the same status lines (``PGPError/unfinishedTrace``, not
    /// none). Otherwise, and while ``UnfinishedRuns/judged`` is false (the pipeline runner's first attempts at a
    /// message), it is thrown as transient (``GPGContext/unfinishedRun``), so that the next judgement comes
    /// seconds later: gpg processes killed again and again must not turn a client's message into a verdict.
    public func decryptAndVerify(_ ciphertext: [UInt8],
                                 forKeys keys: Set<KeyFingerprint>? = nil) async throws -> DecryptionOutcome {
        try await retryingUnfinishedRuns { context, earlier in
            try context.decryptAndVerify(ciphertext, forKeys: keys, judgingUnfinishedLike: earlier)
        }
    }

    /// ``decryptAndVerify(_:forKeys:)`` for a message decoded into a ``CiphertextFile`` (large PGP/MIME mail):
    /// gpg reads the file, so the ciphertext is not held in memory while it runs. The same retries.
    public func decryptAndVerify(_ file: CiphertextFile,
                                 forKeys keys: Set<KeyFingerprint>? = nil) async throws -> DecryptionOutcome {
        try await retryingUnfinishedRuns { context, earlier in
            try context.decryptAndVerify(file, forKeys: keys, judgingUnfinishedLike: earlier)
        }
    }

    /// Runs `run` again after each unfinished run, up to ``unfinishedRunAttempts`` runs. Its second argument is
    /// nil, or on the last run while ``UnfinishedRuns/judged``, the status lines every earlier run ended after,
    /// if they were the same (``UnfinishedRunTraces``): the last run is judged only if it ends after them too.
    private func retryingUnfinishedRuns<T: Sendable>(
        changesKeyring: Bool = false,
        _ run: @escaping @Sendable (GPGContext, [String]?) throws -> T
    ) async throws -> T {
        var traces = UnfinishedRunTraces()
        while true {
            let last = traces.count + 1 == Self.unfinishedRunAttempts
            let judging = last && UnfinishedRuns.judged ? traces.repeated : nil
            do {
                return try await withContext(changesKeyring: changesKeyring) { try run($0, judging) }
            } catch let error as PGPError where error.isUnfinishedRun && !last {
                traces.note(error)
                try await Task.sleep(for: .milliseconds(20 << (traces.count + 1)))
            } catch var error as PGPError where error.isUnfinishedRun && last && UnfinishedRuns.judged {
                traces.note(error)
                // Not the same ending each time: not a verdict, not for the caller either (importPublicKeys).
                if traces.repeated == nil { error.unfinishedTrace = nil }
                throw error
            }
        }
    }

    /// Unfinished decryption runs of one message in a row before the last is taken as the input's verdict.
    public static let unfinishedRunAttempts = 4

    public func encrypt(_ plaintext: [UInt8], to recipients: [KeyFingerprint],
                        signer: KeyFingerprint?) async throws -> [UInt8] {
        try await withContext { try $0.encrypt(plaintext, to: recipients, signer: signer) }
    }

    public func verifyDetached(signature: [UInt8], signedData: [UInt8]) async throws -> [SignatureVerdict] {
        try await withContext { try $0.verifyDetached(signature: signature, signedData: signedData) }
    }

    /// Imports public keys (see ``GPGContext/importPublicKeys(_:)``). A listing or import run that failed in the
    /// engine is run again like an unfinished decryption; after ``unfinishedRunAttempts`` such runs that all ended
    /// after the same status lines it is judged as key data gpg cannot import (``PGPError/Code/invalidInput``).
    /// Otherwise (a gpg killed at random moments), and while ``UnfinishedRuns/judged`` is false, it is thrown as
    /// transient for the runner's later attempt.
    public func importPublicKeys(_ keyData: [UInt8]) async throws -> ImportSummary {
        do {
            return try await retryingUnfinishedRuns(changesKeyring: true) { context, _ in
                try context.importPublicKeys(keyData)
            }
        } catch let error as PGPError where error.isUnfinishedRun && UnfinishedRuns.judged
                    && error.unfinishedTrace != nil {
            throw PGPError(.invalidInput, "importing keys: gpg failed on the key data "
                           + "\(Self.unfinishedRunAttempts) times", gpgError: error.gpgError)
        }
    }

    public func exportPublicKey(_ fingerprint: KeyFingerprint, armored: Bool = true,
                                minimal: Bool = false) async throws -> [UInt8] {
        try await withContext { try $0.exportPublicKey(fingerprint, armored: armored, minimal: minimal) }
    }

    public func key(_ fingerprint: KeyFingerprint, secret: Bool = false) async throws -> KeyInfo? {
        try await withContext { try $0.key(fingerprint, secret: secret) }
    }

    /// Public keys holding a primary key or subkey with this 16-hex-digit key ID.
    public func keys(withKeyID keyID: String) async throws -> [KeyInfo] {
        try await withContext { try $0.keys(withKeyID: keyID) }
    }

    /// The key with this fingerprint, which the engine has just reported (a good signature's signer, a key just
    /// imported): its absence contradicts the engine, so it throws ``PGPError/transient`` instead of returning
    /// nil (issue 28: a keyring being rewritten must not turn into "no such key").
    public func existingKey(_ fingerprint: KeyFingerprint) async throws -> KeyInfo {
        guard let info = try await key(fingerprint) else {
            throw PGPError(.transient, "a key the engine just reported is missing from the keyring")
        }
        return info
    }

    /// Claims the GnuPG home for this daemon's life (see ``HomeClaim``): run once at start, before the pipeline.
    /// Keep the result as long as the daemon runs. Throws ``PGPError/homeDirectory`` if another daemon holds it.
    public func claimHome(staleProcessTimeout: Double = 30) async throws -> HomeClaim {
        let home = configuration.homeDirectory.path
        let keyring = self.keyring
        return try await pool.runIfActive {
            try keyring.with(.write) { try HomeClaim.claim(home: home, staleProcessTimeout: staleProcessTimeout) }
        }
    }

    public func keys(forEmail email: String) async throws -> [KeyInfo] {
        try await withContext { try $0.keys(forEmail: email) }
    }

    public func generateKey(userID: String, expiresInSeconds: UInt = 0) async throws -> KeyFingerprint {
        try await withContext(changesKeyring: true) {
            try $0.generateKey(userID: userID, expiresInSeconds: expiresInSeconds)
        }
    }

    /// Stops the worker threads after queued operations finish.
    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}

/// One ``GPGContext`` per pool thread. `ThreadSpecificVariable` hands each thread only its own value, which is
/// what makes the unchecked `Sendable` sound: no context is ever reachable from a second thread.
private final class ContextCache: @unchecked Sendable {
    private let variable = ThreadSpecificVariable<GPGContext>()

    func current(_ configuration: PGPConfiguration) throws(PGPError) -> GPGContext {
        if let context = variable.currentValue { return context }
        let context = try GPGContext(configuration: configuration)
        variable.currentValue = context
        return context
    }

    func discardCurrent() { variable.currentValue = nil }
}
