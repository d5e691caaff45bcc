// Security: opens what every command that touches state needs: the master key (file or systemd credential),
// the GnuPG home and the encrypted store. It logs counts only; errors name files and options, never secrets.

public import Foundation
public import Logging
import MailValues
public import PGPShim
public import StorePostgres
public import ThreadStore

/// The opened state of an installation: store, keyring, gateway keys and mailboxes. Shared by `serve`
/// (``Gateway/start(_:logger:)``) and the admin commands (`threads`, `reply`, `keys`, …).
///
/// ```swift
/// let installation = try await OpenedInstallation.open(configuration, logger: logger)
/// defer { Task { await installation.close() } }
/// let outcome = try await installation.replyComposer.queueReply(thread: id, text: text, counsellor: nil)
/// ```
public struct OpenedInstallation: Sendable {
    public let configuration: BridgeConfiguration
    /// The configured store engine, opened.
    public let engine: OpenedStoreEngine
    /// The seams every part of the daemon runs on (issue 21), on ``engine``.
    public let stores: GatewayStores
    public let pgp: PGPService
    /// Canonical mailbox address → its gateway key.
    public let gatewayKeys: [String: KeyFingerprint]
    public let mailboxes: [PipelineMailbox]
    public let dataFolder: URL
    /// The gateway's secret keys shared with the other nodes of one PostgreSQL database; nil on SQLite.
    public let sharedGatewayKeys: SharedKeys?
    /// The daemon's hold on the GnuPG home (``PGPService/claimHome(staleProcessTimeout:)``); nil unless `open` was
    /// asked to claim it.
    public let homeClaim: HomeClaim?
    /// The daemon's claim on its PostgreSQL node name (``NodeClaimService``), claimed; nil on SQLite and for
    /// commands.
    public let nodeClaim: PostgresNodeClaim?

    /// Prepares the data folder (0700: master key, GnuPG home, store), generates missing gateway keys and opens
    /// the store with the master key. `claimingHome` (the daemon): claim the GnuPG home before the first gpg
    /// operation, so no gpg left over from a killed daemon still rewrites the keyring while the gateway keys are
    /// looked up (issue 28: a lookup that raced with such an import found no key and generated a new one).
    public static func open(_ configuration: BridgeConfiguration, claimingHome: Bool = false,
                            logger: Logger) async throws -> OpenedInstallation {
        let data = URL(fileURLWithPath: configuration.data.folder.string)
        try DataFolderInitializer.prepare(configuration)
        let masterKey = try configuration.keys.loadMasterKey()

        let passphrase: PassphraseSource = configuration.keys.passphraseFile.map {
            .file(URL(fileURLWithPath: $0.string))
        } ?? .none
        let pgp = try PGPService(configuration: PGPConfiguration(
            homeDirectory: URL(fileURLWithPath: configuration.keys.gnupgHome.string), passphrase: passphrase,
            maximumPlaintextBytes: configuration.mimeLimits.maxDecompressedSize))
        var homeClaim: HomeClaim?
        if claimingHome {
            homeClaim = try await pgp.claimHome()
            logger.notice("GnuPG home claimed", metadata: ["report": "\(homeClaim!.report)"])
        }
        let engine: OpenedStoreEngine
        do {
            // `claimingHome` is the daemon: on PostgreSQL its connections name it as a running gateway node.
            engine = try await OpenedStoreEngine.open(configuration, dataFolder: data, masterKey: masterKey,
                                                      gatewayNode: claimingHome, logger: logger)
        } catch let error as ThreadStoreError where error == .wrongMasterKey {
            if let interrupted = InterruptedRotation.error(configuration) { throw interrupted }
            guard configuration.store.engine == .postgresql else { throw error }
            // A further node set up without the first node's key (`init` made one) or left with a key rotated away.
            throw RecoveryError(.keyMismatch, "the master key (\(configuration.keys.masterKeyFile.string) or the "
                                + "systemd credential) does not open the PostgreSQL database: every node needs the key "
                                + "the database is sealed with; copy it from a node that runs (after a master key "
                                + "rotation, the new one) and start again (docs/operations.md, \"Running several nodes\")")
        }
        // Several nodes: no second live process under this node name (it would take this one's leases).
        var nodeClaim: PostgresNodeClaim?
        if claimingHome, case .postgresql(let opened) = engine {
            do {
                let claim = try opened.nodeClaim(logger: logger)
                try await NodeClaimService.claim(claim, logger: logger)
                nodeClaim = claim
            } catch {
                await engine.close()
                throw error
            }
        }
        // Issue 20: the store records each mailbox's current, overlap, retired and revoked keys.
        let stores = engine.stores
        let sharedGatewayKeys = engine.sharedGatewayKeys(pgp: pgp, logger: logger)
        let keySets: [String: MailboxKeySet]
        do {
            keySets = try await GatewayKeyLifecycle(
                ledger: stores.gatewayKeys, pgp: pgp, policy: GatewayKeyPolicy(configuration.keys), logger: logger,
                shared: sharedGatewayKeys
            ).prepare(configuration.mailboxes.map(\.address))
        } catch {
            await engine.close()
            throw error
        }
        let gatewayKeys = keySets.mapValues(\.current)

        var mailboxes = try configuration.mailboxes.map { mailbox in
            var built = try PipelineMailbox(mailbox, gatewayKey: gatewayKeys[mailbox.address.canonical]!)
            built.apply(keySets[mailbox.address.canonical]!)
            return built
        }
        for index in mailboxes.indices {
            let keyData = try await pgp.exportPublicKey(mailboxes[index].gatewayKey, armored: false, minimal: true)
            mailboxes[index].autocrypt = AutocryptHeader(address: mailboxes[index].address, keyData: keyData)
        }
        return OpenedInstallation(configuration: configuration, engine: engine, stores: stores, pgp: pgp,
                                  gatewayKeys: gatewayKeys, mailboxes: mailboxes, dataFolder: data,
                                  sharedGatewayKeys: sharedGatewayKeys, homeClaim: homeClaim, nodeClaim: nodeClaim)
    }

    /// The gateway keys' lifecycle on this installation's store (and, on PostgreSQL, its key shelf).
    public func gatewayKeyLifecycle(logger: Logger) -> GatewayKeyLifecycle {
        GatewayKeyLifecycle(ledger: stores.gatewayKeys, pgp: pgp, policy: GatewayKeyPolicy(configuration.keys),
                            logger: logger, shared: sharedGatewayKeys)
    }

    /// The one way counsellor replies are queued, for this installation's mailboxes (from a command, in a process
    /// of its own): each committed reply wakes the running daemon's queue through the data folder's wake socket.
    public func replyComposer(logger: Logger) -> ReplyComposer {
        ReplyComposer(replies: stores.replies, pgp: pgp, mailboxes: MailboxDirectory(mailboxes), logger: logger,
                      outbox: Outbox(wake: { [dataFolder] in QueueWakeSocket.notify(dataFolder: dataFolder) }))
    }

    /// The SQLite store, for `mailbridge backup` (its archive holds the SQLite file; PostgreSQL is backed up with
    /// its own tools). - Throws: ``ConfigurationError`` on PostgreSQL.
    public var store: ThreadStore {
        get throws(ConfigurationError) { try engine.sqliteStore }
    }

    /// Closes the store and stops the GnuPG worker threads.
    public func close() async {
        await engine.close()
        try? await pgp.shutdown()
    }
}
