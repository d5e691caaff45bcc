// The test harness for outbound webhooks: a real HTTPS receiver on 127.0.0.1 (Tests/Tools/webhook_receiver.py) that
// checks Standard Webhooks signatures with the PyPI package `standardwebhooks`, behind a certificate from a private
// CA made here with the openssl command. A gateway under test trusts only `caFile`, so the TLS check is real.
public import Foundation

/// A Standard Webhooks receiver (https://www.standardwebhooks.com) for tests: HTTPS on `127.0.0.1`, a fresh
/// private CA and server certificate (subjectAltName `IP:127.0.0.1`, `DNS:localhost`, EC P-256, valid one day),
/// and a fixed script of answers, one per POST in arrival order: `"500"` answers 500, `"hang"` holds the request
/// 30 seconds without answering and then closes the connection; after the script every POST is answered 204.
///
/// Every POST is recorded (``received()``) before it is answered, so attempts answered 500 or never answered are
/// seen too. A delivery is ``Delivery/verified`` when `standardwebhooks.Webhook(secret).verify(body, headers)`
/// accepts it for any of ``secrets`` (that also checks the timestamp is within five minutes of now).
///
/// Needs `openssl` and the test virtual environment (`scripts/install-deps --test`, `MAILBRIDGE_TEST_VENV`,
/// default `/opt/mailbridge-test-venv`). Read ``received()`` before ``stop()``, which removes everything.
public final class WebhookReceiver: @unchecked Sendable {
    /// One POST as the receiver saw it (a line of its `received.jsonl`).
    public struct Delivery: Sendable, Equatable, Decodable {
        /// The `webhook-id` header, if sent.
        public var id: String?
        /// The `webhook-timestamp` header exactly as sent (Unix seconds), if sent.
        public var timestamp: String?
        /// The `webhook-signature` header exactly as sent (space-separated `v1,…`), if sent.
        public var signature: String?
        /// Whether `standardwebhooks` verified the request with any of the receiver's secrets.
        public var verified: Bool
        /// What the receiver answered: the status as text (`"500"`, `"204"`) or `"hang"`.
        public var answer: String
        /// The raw body as UTF-8 text (bytes that are not UTF-8 replaced; the check used the raw bytes).
        public var body: String
        /// The request path (with the query, if any).
        public var path: String
        /// The `Content-Type` header, if sent.
        public var contentType: String?
    }

    /// ``WebhookReceiver/waitFor(count:timeout:)`` ran out of time.
    public struct WaitTimeout: Error, CustomStringConvertible {
        public var description: String
    }

    /// The PEM certificate of the private CA that issued the receiver's certificate: what the gateway must trust.
    public let caFile: URL
    /// The port the receiver listens on (127.0.0.1).
    public let port: Int
    /// The endpoint to configure: `https://127.0.0.1:PORT/hooks`.
    public let url: String
    /// The first of ``secrets``: a `whsec_` secret for the gateway to sign with.
    public let secret: String
    /// Every secret any of which may verify a delivery (more than one for key rotation tests).
    public let secrets: [String]

    private let peer: PythonPeer
    private let certificates: URL
    private let lock = NSLock()
    private var stopped = false

    /// The test virtual environment's interpreter, which has `standardwebhooks`.
    public static var python: String {
        (ProcessInfo.processInfo.environment["MAILBRIDGE_TEST_VENV"] ?? "/opt/mailbridge-test-venv") + "/bin/python3"
    }

    static let scriptFile = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Tools/webhook_receiver.py")

    /// A fresh secret: `whsec_` and the base64 of 32 random bytes.
    public static func makeSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Data((0..<32).map { _ in generator.next() as UInt8 }).base64EncodedString()
    }

    /// Makes the CA and certificate and starts the receiver. `script`: the answers in order (`"500"`, `"hang"`,
    /// `"200"`, …). `secrets`: the `whsec_` secrets that may verify; by default one fresh ``makeSecret()``.
    public init(script: [String] = [], secrets: [String]? = nil) throws {
        let secrets = secrets ?? [Self.makeSecret()]
        guard let first = secrets.first else {
            throw PythonPeer.StartError(description: "WebhookReceiver needs at least one secret")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw PythonPeer.StartError(
                description: "\(Self.python) is missing: run scripts/install-deps --test (the test venv)")
        }
        let certificates = FileManager.default.temporaryDirectory.appendingPathComponent("webhook-tls-\(UUID())")
        try FileManager.default.createDirectory(at: certificates, withIntermediateDirectories: true)
        do {
            try Self.makeCertificates(in: certificates)
            let source = try String(contentsOf: Self.scriptFile, encoding: .utf8)
            peer = try PythonPeer(
                script: source, name: "webhook-receiver",
                arguments: [
                    "--cert", certificates.appendingPathComponent("server.pem").path,
                    "--key", certificates.appendingPathComponent("server.key").path,
                    "--script", script.joined(separator: ","),
                ] + secrets.flatMap { ["--secret", $0] },
                interpreter: Self.python)
        } catch {
            try? FileManager.default.removeItem(at: certificates)
            throw error
        }
        self.certificates = certificates
        self.secrets = secrets
        secret = first
        caFile = certificates.appendingPathComponent("ca.pem")
        port = peer.port
        url = "https://127.0.0.1:\(peer.port)/hooks"
    }

    /// Every POST recorded so far, in the order they were answered.
    public func received() throws -> [Delivery] {
        let file = peer.directory.appendingPathComponent("received.jsonl")
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let data = try Data(contentsOf: file)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // The script writes whole lines; a line still without its newline is not complete yet.
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if data.last != UInt8(ascii: "\n") { lines.removeLast() }
        return try lines.filter { !$0.isEmpty }.map { try decoder.decode(Delivery.self, from: Data($0)) }
    }

    /// Waits until at least `count` POSTs are recorded (polling every 50 ms) and returns all of them.
    public func waitFor(count: Int, timeout: Duration) async throws -> [Delivery] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let deliveries = try received()
            if deliveries.count >= count { return deliveries }
            if ContinuousClock.now >= deadline {
                let log = (try? String(contentsOf: peer.directory.appendingPathComponent("stderr.log"),
                                       encoding: .utf8)) ?? ""
                throw WaitTimeout(description: """
                    \(deliveries.count) of \(count) webhook deliveries after \(timeout): \(deliveries)
                    receiver log:
                    \(log)
                    """)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops the receiver (a hanging request is cut off) and removes its folder and certificates. Safe to call twice.
    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        peer.stop()
        try? FileManager.default.removeItem(at: certificates)
    }

    /// The openssl configuration: the CA's and the server certificate's extensions.
    static let opensslConfiguration = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [ca]
        basicConstraints = critical, CA:TRUE, pathlen:0
        keyUsage = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash
        [server]
        basicConstraints = critical, CA:FALSE
        keyUsage = critical, digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = IP:127.0.0.1, DNS:localhost
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid:always

        """

    /// Writes `ca.pem`, `server.key` and `server.pem` (the server certificate, issued by the CA) into `folder`.
    static func makeCertificates(in folder: URL) throws {
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        func serial() -> String {
            var generator = SystemRandomNumberGenerator()
            return "0x" + (0..<16).map { _ in String(format: "%02x", generator.next() as UInt8) }.joined()
        }
        try opensslConfiguration.write(toFile: path("openssl.cnf"), atomically: true, encoding: .utf8)
        for key in ["ca.key", "server.key"] {
            try Shell.run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                      "-out", path(key)])
        }
        try Shell.run("openssl", ["req", "-config", path("openssl.cnf"), "-new", "-x509", "-key", path("ca.key"),
                                  "-subj", "/CN=MailBridge test webhook CA", "-extensions", "ca", "-days", "1",
                                  "-set_serial", serial(), "-out", path("ca.pem")])
        try Shell.run("openssl", ["req", "-config", path("openssl.cnf"), "-new", "-key", path("server.key"),
                                  "-subj", "/CN=127.0.0.1", "-out", path("server.csr")])
        try Shell.run("openssl", ["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"),
                                  "-CAkey", path("ca.key"), "-set_serial", serial(), "-days", "1",
                                  "-extfile", path("openssl.cnf"), "-extensions", "server", "-out", path("server.pem")])
    }
}
