import Foundation
import MailBridge
import NIOCore
import TestSupport
import Testing

/// `[web] tls-certificate`/`tls-key`: the gateway's web server speaks HTTPS itself, with a certificate a client
/// can verify, and refuses plain HTTP on that port.
@Suite struct WebServerTLSTests {
    @Test func servesTheLoginPageOverTLS() async throws {
        let harness = try WebAuthHarness()
        let directory = harness.root.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("web.pem").path
        let key = directory.appendingPathComponent("web.key").path
        try Shell.run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", key, "-out", certificate,
        ])
        var configuration = BridgeConfiguration.Web()
        configuration.port = 0
        configuration.tlsCertificate = try AbsolutePath(certificate)
        configuration.tlsKey = try AbsolutePath(key)
        let server = try WebServer(configuration: configuration, services: harness.services,
                                   logger: harness.logs.logger("tls"))
        let running = Task { try await server.run() }
        defer { running.cancel() }
        let port = try #require(await server.localAddress().port)

        let fetch = """
            import ssl, sys, urllib.request
            context = ssl.create_default_context(cafile=sys.argv[2])
            try:
                body = urllib.request.urlopen(sys.argv[1], context=context, timeout=10).read().decode()
                print('OK', 'name="password"' in body)
            except Exception as error:
                print('ERROR', type(error).__name__)
            """
        let https = try await offCooperativePool {
            try Shell.run("python3", ["-c", fetch, "https://127.0.0.1:\(port)/login", certificate])
        }
        #expect(https.stdout.text.trimmingCharacters(in: .whitespacesAndNewlines) == "OK True")
        let plain = try await offCooperativePool {
            try Shell.run("python3", ["-c", fetch, "http://127.0.0.1:\(port)/login", certificate])
        }
        #expect(plain.stdout.text.hasPrefix("ERROR"), "plain HTTP must not get the page")
    }

    @Test func unreadableCertificateIsAClearStartError() throws {
        let harness = try WebAuthHarness()
        var configuration = BridgeConfiguration.Web()
        configuration.tlsCertificate = try AbsolutePath(harness.root.path + "/missing.pem")
        configuration.tlsKey = try AbsolutePath(harness.root.path + "/missing.key")
        #expect {
            _ = try WebServer(configuration: configuration, services: harness.services, logger: harness.logs.logger())
        } throws: { error in
            "\(error)".contains("tls-certificate")
        }
    }
}
