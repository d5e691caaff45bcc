import Foundation
import Logging
import MailBridge
import MailValues
import NIOCore
import PGPShim
import TestSupport
import ThreadStore

/// A pipeline wired to real parts: PGPShim over an isolated GnuPG home, a ThreadStore SQLite file, a client
/// keyring driven through the gpg CLI, and a log capture. Everything lives in one temporary folder.
final class PipelineHarness: @unchecked Sendable {
    let root: URL
    let pgp: PGPService
    let client: GnuPGClient
    let store: ThreadStore
    let pipeline: Pipeline
    let logs = LogCapture()
    let gateway: KeyFingerprint
    var mailbox: PipelineMailbox
    /// A second counselling address with its own key (``init(maximumPageSize:secondMailbox:)``), or nil.
    let secondMailbox: PipelineMailbox?
    let storeFile: URL
    private var counter = 0

    static let counselling = "beratung@example.org"
    static let team = "team@example.org"
    static let second = "jugend@example.org"

    /// `maximumPageSize`: the store's page limit, raised for corpus runs that read every outbox row at once.
    /// `receiptPeriod`: receipts on with this period (default off); `now`: the pipeline's clock.
    /// `engine`: the gpg program the gateway's contexts run (``PGPConfiguration/engineExecutable``).
    init(maximumPageSize: Int? = nil, secondMailbox: Bool = false, receiptPeriod: TimeInterval? = nil,
         engine: String? = nil, now: @escaping @Sendable () -> Date = { Date() }) async throws {
        root = URL(fileURLWithPath: "/tmp/mb-pipe-\(UUID().uuidString.prefix(10))")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("spool"), withIntermediateDirectories: true)
        pgp = try PGPService(configuration: PGPConfiguration(homeDirectory: root.appendingPathComponent("gw"),
                                                             engineExecutable: engine))
        client = try GnuPGClient(home: root.appendingPathComponent("cl"))
        gateway = try await pgp.generateKey(userID: "Beratung <\(Self.counselling)>")
        storeFile = root.appendingPathComponent("threads.sqlite")
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.logger = logs.logger("store")
        if let maximumPageSize { storeConfiguration.maximumPageSize = maximumPageSize }
        store = try ThreadStore(at: storeFile, masterKey: .generate(), configuration: storeConfiguration)
        mailbox = try PipelineMailbox(
            BridgeConfiguration.Mailbox(
                address: try EmailAddress(Self.counselling), field: "suchtberatung",
                teamNotificationAddress: try EmailAddress(Self.team),
                redirectLink: try RedirectLink("https://beratung.example/login"), language: .de),
            gatewayKey: gateway)
        mailbox.autocrypt = AutocryptHeader(address: mailbox.address,
                                            keyData: try await pgp.exportPublicKey(gateway, armored: false, minimal: true))
        if secondMailbox {
            let key = try await pgp.generateKey(userID: "Jugendberatung <\(Self.second)>")
            self.secondMailbox = try PipelineMailbox(
                BridgeConfiguration.Mailbox(
                    address: try EmailAddress(Self.second), field: "jugendberatung",
                    teamNotificationAddress: try EmailAddress(Self.team),
                    redirectLink: try RedirectLink("https://beratung.example/login"), language: .de),
                gatewayKey: key)
            try client.gpg(["--import"], stdin: try await pgp.exportPublicKey(key))
        } else {
            self.secondMailbox = nil
        }
        pipeline = Pipeline(store: store, pgp: pgp,
                            configuration: .init(mailboxes: [mailbox] + (self.secondMailbox.map { [$0] } ?? []),
                                                 receiptPeriod: receiptPeriod),
                            logger: logs.logger("pipeline"), now: now)
        // The client knows the gateway's public key (as from WKD).
        try client.gpg(["--import"], stdin: try await pgp.exportPublicKey(gateway))
    }

    deinit {
        client.kill()
        _ = try? Shell.run("gpgconf", ["--homedir", root.appendingPathComponent("gw").path, "--kill", "all"],
                           allowFailure: true)
        try? FileManager.default.removeItem(at: root)
    }

    func close() async { try? await pgp.shutdown() }

    /// Writes `raw` (LF or CRLF) as a spooled message from `sender` (nil: null reverse path) to the mailbox.
    func spool(_ raw: String, from sender: String?, to recipient: String = counselling) throws -> InboundMessage {
        counter += 1
        let crlf = raw.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let url = root.appendingPathComponent("spool/\(counter).eml")
        try Data(crlf.utf8).write(to: url)
        let queueID = QueueID.make(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000) + UInt64(counter))
        let envelope = InboundMessage.Envelope(
            reversePath: try sender.map { .mailbox(try EmailAddress($0)) } ?? .null,
            recipients: [try EmailAddress(recipient)], clientAddress: PeerAddress("127.0.0.1"),
            receivedAt: Date(), queueID: queueID)
        return InboundMessage(envelope: envelope, spoolFile: url, size: crlf.utf8.count)
    }

    /// Every queued outbound mail, decrypted from the store.
    func outbox() async throws -> [OutboxItem] {
        try await store.read { try $0.dueOutboxItems(now: Date().addingTimeInterval(365 * 86400), limit: 500) }
    }

    /// The raw bytes of the SQLite database and its WAL, as an attacker with the disk would see them.
    func rawDatabaseBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: storeFile.path + suffix) { bytes += Array(data) }
        }
        return bytes
    }

    /// A client PGP/MIME mail built by Python's `email` package around gpg's armored output.
    /// `base64`: the encrypted part is sent base64-encoded (Content-Transfer-Encoding), as some clients do with
    /// binary OpenPGP data.
    func pgpMIMEMail(from address: String, ciphertext: [UInt8], messageID: String,
                     extraHeaders: [String: String] = [:], to recipient: String = counselling,
                     base64: Bool = false) throws -> String {
        let script = """
            import sys, os, email.policy, email.encoders
            from email.mime.multipart import MIMEMultipart
            from email.mime.base import MIMEBase
            armored = sys.stdin.buffer.read()
            if os.environ.get('MB_BASE64') != '1':
                armored = armored.decode('ascii')
            outer = MIMEMultipart('encrypted', protocol='application/pgp-encrypted')
            outer['From'] = sys.argv[1]
            outer['To'] = sys.argv[2]
            outer['Subject'] = '...'
            outer['Message-ID'] = sys.argv[3]
            for pair in sys.argv[4:]:
                name, value = pair.split(':', 1)
                outer[name] = value
            version = MIMEBase('application', 'pgp-encrypted')
            version.set_payload('Version: 1\\n')
            data = MIMEBase('application', 'octet-stream', name='encrypted.asc')
            data.set_payload(armored)
            if os.environ.get('MB_BASE64') == '1':
                email.encoders.encode_base64(data)
            data['Content-Disposition'] = 'inline; filename="encrypted.asc"'
            outer.attach(version)
            outer.attach(data)
            sys.stdout.write(outer.as_string(policy=email.policy.SMTP.clone(max_line_length=998)))
            """
        let extras = extraHeaders.map { "\($0.key):\($0.value)" }
        return try Shell.run("python3", ["-c", script, address, recipient, messageID] + extras,
                             stdin: ciphertext, environment: base64 ? ["MB_BASE64": "1"] : [:]).stdout.text
    }

    /// The inner MIME entity a client encrypts: protected Subject, a text part and an attachment.
    static func innerEntity(subject: String, body: String, fileName: String) -> String {
        """
        Content-Type: multipart/mixed; boundary="inner-boundary"; protected-headers="v1"
        Subject: \(subject)

        --inner-boundary
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit

        \(body)
        --inner-boundary
        Content-Type: application/octet-stream; name="\(fileName)"
        Content-Disposition: attachment; filename="\(fileName)"
        Content-Transfer-Encoding: base64

        \(Data("attachment \(body)".utf8).base64EncodedString())
        --inner-boundary--

        """.replacingOccurrences(of: "\n", with: "\r\n")
    }
}

extension PipelineHarness {
    /// Spools `raw` (LF or CRLF) from `sender` to `recipient` (the counselling address unless given) the way the
    /// SMTP session does (spool file, fsync, the intake's commit); the arrival time is now. Returns the queue ID.
    @discardableResult
    static func spool(_ raw: String, from sender: String, to recipient: String = counselling,
                      into intake: SpoolIntake) async throws -> QueueID {
        let queueID = QueueID.make(millisecondsSince1970: UInt64(Date().timeIntervalSince1970 * 1000))
        let file = try intake.makeSpoolFile(queueID: queueID)
        let bytes = raw.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        try await file.append(ByteBuffer(string: bytes))
        try await file.finish()
        let envelope = InboundMessage.Envelope(
            reversePath: .mailbox(try EmailAddress(sender)), recipients: [try EmailAddress(recipient)],
            clientAddress: PeerAddress("127.0.0.1"), receivedAt: Date(), queueID: queueID)
        _ = try await intake.accept(InboundMessage(envelope: envelope, spoolFile: file.url, size: bytes.utf8.count))
        return queueID
    }
}
