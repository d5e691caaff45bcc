import Foundation
import Logging
import MailBridge
import NIOConcurrencyHelpers
import PGPShim
import TestSupport
import ThreadStore

/// An installation made by `init` (real GnuPG home, real store file), with the daemon's key-related parts wired
/// on it as `serve` wires them (one mailbox directory for the pipeline and the reply composer, the gateway key
/// service with a clock the test moves), and a client keyring driven through the gpg command line (issue 20).
final class GatewayKeyTestBench: @unchecked Sendable {
    static let mailbox = "beratung@example.org"
    static let clientAddress = "schluessel-klient@example.net"

    let folder: TemporaryFolder
    let config: String
    let client: GnuPGClient
    let logs = LogCapture()
    let logger: Logger
    let clock: Clock
    var installation: OpenedInstallation!
    var directory: MailboxDirectory!
    var pipeline: Pipeline!
    var composer: ReplyComposer!
    var service: GatewayKeyService!
    var help: HelpDirectory!
    let metrics = GatewayMetrics()
    private var counter = 0

    /// A mutable clock for the lifecycle (retirement, extension).
    final class Clock: Sendable {
        private let box: NIOLockedValueBox<Date>
        init(_ date: Date) { box = NIOLockedValueBox(date) }
        var now: Date {
            get { box.withLockedValue { $0 } }
            set { box.withLockedValue { $0 = newValue } }
        }
    }

    /// `configure` edits the configuration text written by `init` before anything opens it.
    init(configure: (String) -> String = { $0 }, beforeOpen: ((URL) async throws -> Void)? = nil) async throws {
        folder = try TemporaryFolder()
        config = folder.path + "/etc/mailbridge.toml"
        _ = try DataFolderInitializer.run(dataFolder: try AbsolutePath(folder.path + "/data"),
                                          configFile: try AbsolutePath(config))
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try configure(text).write(toFile: config, atomically: true, encoding: .utf8)
        client = try GnuPGClient(home: folder.url.appendingPathComponent("client"))
        logger = logs.logger("keys")
        clock = Clock(Date())
        if let beforeOpen { try await beforeOpen(folder.url.appendingPathComponent("data/gnupg")) }
        try await open()
    }

    /// Opens the installation and wires the daemon parts on it (as `Gateway.start` does).
    func open() async throws {
        let configuration = try BridgeConfiguration.load(file: config)
        installation = try await OpenedInstallation.open(configuration, logger: logger)
        directory = MailboxDirectory(installation.mailboxes)
        pipeline = try Pipeline(store: installation.store, pgp: installation.pgp,
                            configuration: .init(mailboxes: installation.mailboxes), directory: directory,
                            logger: logger)
        composer = try ReplyComposer(store: installation.store, pgp: installation.pgp, mailboxes: directory,
                                 logger: logger)
        help = try await HelpDirectory.make(mailboxes: installation.mailboxes, pgp: installation.pgp,
                                            receiptPeriodHours: nil)
        let clock = self.clock
        service = try GatewayKeyService(
            lifecycle: GatewayKeyLifecycle(store: installation.store, pgp: installation.pgp,
                                           policy: GatewayKeyPolicy(configuration.keys), logger: logger,
                                           now: { clock.now }),
            directory: directory, help: help, metrics: metrics, logger: logger)
    }

    func close() async {
        await installation?.close()
        client.kill()
        _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"], allowFailure: true)
        folder.remove()
    }

    /// Runs an admin command as `mailbridge … --config` does (a second opened installation, like another process).
    func admin(_ body: (OpenedInstallation) async throws -> AdminResult) async -> AdminResult {
        await AdminSession.run(configFile: config, logger: logger, body)
    }

    var current: PipelineMailbox { directory.all[0] }

    /// Makes the client's key and gives its public part to the gateway.
    func makeClientKey() async throws -> KeyFingerprint {
        let key = try client.makeKey(Self.clientAddress)
        _ = try await installation.pgp.importPublicKeys(try client.gpg(["--export", key.hex]).stdout)
        return key
    }

    /// The WKD key file (direct method) as `mailbridge keys wkd` writes it now.
    func wkdFile() async throws -> URL {
        let out = folder.url.appendingPathComponent("wkd-\(UUID().uuidString.prefix(6))")
        let written = await admin { try await KeysAdmin.writeWKD($0, to: out) }
        guard written.status == .success else { throw BenchFailure("keys wkd: \(written.errorOutput)") }
        let hash = WebKeyDirectory.hashedLocalPart("beratung")
        return out.appendingPathComponent("example.org/.well-known/openpgpkey/hu/\(hash)")
    }

    /// The fingerprints in a key file and whether each is revoked (gpg `--import-options show-only`).
    func keysIn(_ bytes: [UInt8]) throws -> [(fingerprint: String, revoked: Bool)] {
        let listing = try client.gpg(["--with-colons", "--import-options", "show-only", "--import"], stdin: bytes)
            .stdout.text.split(separator: "\n")
        var keys: [(String, Bool)] = []
        var revoked = false
        var expectFingerprint = false
        for line in listing {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.first == "pub" {
                revoked = fields.count > 1 && fields[1] == "r"
                expectFingerprint = true
            } else if fields.first == "fpr", expectFingerprint, fields.count > 9 {
                keys.append((String(fields[9]), revoked))
                expectFingerprint = false
            }
        }
        return keys
    }

    /// gpg's validity field of each primary key in a key file (`e` expired, `r` revoked, `-` unknown).
    func validity(_ bytes: [UInt8]) throws -> [String] {
        try client.gpg(["--with-colons", "--import-options", "show-only", "--import"], stdin: bytes).stdout.text
            .split(separator: "\n").filter { $0.hasPrefix("pub:") }
            .map { String($0.split(separator: ":", omittingEmptySubsequences: false)[1]) }
    }

    /// A signed message from the client, encrypted by the client's gpg to `recipient`, run through the pipeline.
    func deliver(to recipient: String, text: String, signer: KeyFingerprint) async throws -> AcceptOutcome {
        let ciphertext = try client.gpg(["--armor", "--sign", "--local-user", signer.hex, "--encrypt",
                                         "--recipient", recipient], stdin: Array(text.utf8)).stdout
        return try await deliver(ciphertext: ciphertext)
    }

    func deliver(ciphertext: [UInt8]) async throws -> AcceptOutcome {
        counter += 1
        let raw = "From: \(Self.clientAddress)\nTo: \(Self.mailbox)\nSubject: ...\n"
            + "Message-ID: <keys-\(counter)-\(UUID().uuidString.prefix(8))@example.net>\nMIME-Version: 1.0\n"
            + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\n\n"
            + "--b0\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
            + "--b0\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n"
            + String(decoding: ciphertext, as: UTF8.self) + "\n--b0--\n"
        let crlf = raw.replacingOccurrences(of: "\n", with: "\r\n")
        let spool = folder.url.appendingPathComponent("in-\(counter).eml")
        try Data(crlf.utf8).write(to: spool)
        let envelope = InboundMessage.Envelope(
            reversePath: .mailbox(try EmailAddress(Self.clientAddress)), recipients: [try EmailAddress(Self.mailbox)],
            clientAddress: PeerAddress("127.0.0.1"), receivedAt: Date(),
            queueID: QueueID.make(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000) + UInt64(counter)))
        return try await pipeline.accept(InboundMessage(envelope: envelope, spoolFile: spool, size: crlf.utf8.count))
    }

    /// The newest counsellor reply in the outbox: the primary fingerprint that signed it (as the client's gpg
    /// verifies it) and the fingerprint of the key in its Autocrypt header.
    func lastReply() async throws -> (signer: String?, autocrypt: String?) {
        let items = try await installation.store.read {
            try $0.dueOutboxItems(now: Date().addingTimeInterval(365 * 86_400), limit: 500)
        }
        guard let reply = items.last(where: { $0.kind == .counsellorReply }) else { throw BenchFailure("no reply") }
        let mail = reply.payload.text
        guard let start = mail.range(of: "-----BEGIN PGP MESSAGE-----"),
            let end = mail.range(of: "-----END PGP MESSAGE-----")
        else { throw BenchFailure("no ciphertext in the reply") }
        let armored = String(mail[start.lowerBound..<end.upperBound])
        // The client's mail program takes the key from the Autocrypt header, then verifies the signature.
        var autocrypt: String?
        let unfolded = mail.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ")
        if let line = unfolded.split(separator: "\r\n").first(where: { $0.hasPrefix("Autocrypt:") }),
            let range = line.range(of: "keydata=")
        {
            let base64 = line[range.upperBound...].filter { !$0.isWhitespace }
            if let data = Data(base64Encoded: String(base64)) {
                autocrypt = try keysIn(Array(data)).first?.fingerprint
                try client.gpg(["--import"], stdin: Array(data))
            }
        }
        let status = try client.gpg(["--status-fd", "2", "--decrypt"], stdin: Array(armored.utf8),
                                    allowFailure: true).stderr
        let signer = status.split(separator: "\n").first { $0.hasPrefix("[GNUPG:] VALIDSIG ") }
            .map { $0.split(separator: " ") }.flatMap { $0.count > 11 ? String($0[11]) : nil }
        return (signer, autocrypt)
    }

    /// Which of the gateway's keys can decrypt `ciphertext` (the gateway tries every key it holds).
    func decryptionKey(of ciphertext: [UInt8]) async throws -> KeyFingerprint? {
        if case .decrypted(let message) = try await installation.pgp.decryptAndVerify(ciphertext) {
            return message.decryptionKey
        }
        return nil
    }

    struct BenchFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
