import Foundation
import TestSupport

/// A real SMTP server for the outbound tests: Python aiosmtpd (Debian package python3-aiosmtpd), started per test
/// on 127.0.0.1 with an ephemeral port, writing what it accepts into a temporary folder. It exits when its stdin
/// closes (our process ends or ``stop()``) or after `lifetime` seconds, so it never outlives the tests.
final class OutboundSink: @unchecked Sendable {
    struct Options {
        /// Replies to end of data, used in order before answering 250 (e.g. ["451 4.3.0 try later"]).
        var dataReplies: [String] = []
        /// A fixed reply to every RCPT (e.g. "550 5.1.1 no such user").
        var rcptReply: String?
        /// Offer STARTTLS with this certificate and key.
        var certificate: OutboundTestCA.Leaf?
        var implicitTLS = false
        var requireStartTLS = false
        /// Accept AUTH PLAIN/LOGIN with these; AUTH is offered only after TLS unless `authInClear`.
        var credentials: (user: String, password: String)?
        var authInClear = false
        /// Seconds to wait before answering end of data for the first `delayedMessages` accepted messages
        /// (bounded by the script).
        var dataDelay: Double = 0
        var delayedMessages = 1
        var lifetime: Double = 120

        var json: String {
            var object: [String: Any] = [
                "data_replies": dataReplies, "implicit_tls": implicitTLS, "require_starttls": requireStartTLS,
                "auth_in_clear": authInClear, "data_delay": dataDelay, "delayed_messages": delayedMessages,
                "lifetime": lifetime,
            ]
            if let rcptReply { object["rcpt_reply"] = rcptReply }
            if let certificate {
                object["cert"] = certificate.certificatePath
                object["key"] = certificate.keyPath
            }
            if let credentials {
                object["user"] = credentials.user
                object["password"] = credentials.password
            }
            let data = try! JSONSerialization.data(withJSONObject: object)
            return String(decoding: data, as: UTF8.self)
        }
    }

    private let peer: PythonPeer
    var directory: URL { peer.directory }
    var port: Int { peer.port }

    private init(peer: PythonPeer) { self.peer = peer }

    static func start(_ options: Options = Options()) throws -> OutboundSink {
        OutboundSink(peer: try PythonPeer(script: script, name: "outbound-sink", arguments: [options.json]))
    }

    /// Accepted messages in arrival order, exactly as received after dot-unstuffing.
    func messages() -> [Data] {
        (1...).lazy.map { self.directory.appendingPathComponent("message-\($0).eml") }
            .prefix { FileManager.default.fileExists(atPath: $0.path) }
            .compactMap { try? Data(contentsOf: $0) }
    }

    /// Protocol events the sink saw (mail, rcpt, data, auth), each a JSON object.
    func events() -> [[String: Any]] {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("events.jsonl"), encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func events(_ name: String) -> [[String: Any]] {
        events().filter { $0["event"] as? String == name }
    }

    func stop() { peer.stop() }

    static let script = #"""
        import asyncio, json, os, ssl, sys
        from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

        cfg = json.loads(sys.argv[1])
        out = sys.argv[2]
        events = open(os.path.join(out, "events.jsonl"), "a", buffering=1)

        def log(**kw):
            events.write(json.dumps(kw) + "\n")

        def is_tls(server):
            return server.transport is not None and server.transport.get_extra_info("ssl_object") is not None

        class Handler:
            def __init__(self):
                self.accepted = 0
                self.data_replies = list(cfg.get("data_replies", []))

            async def handle_MAIL(self, server, session, envelope, address, options):
                log(event="mail", tls=is_tls(server), authenticated=bool(session.authenticated),
                    options=options, sender=address)
                envelope.mail_from = address
                envelope.mail_options.extend(options)
                return "250 2.1.0 OK"

            async def handle_RCPT(self, server, session, envelope, address, options):
                log(event="rcpt", recipient=address)
                if cfg.get("rcpt_reply"):
                    return cfg["rcpt_reply"]
                envelope.rcpt_tos.append(address)
                return "250 2.1.5 OK"

            async def handle_DATA(self, server, session, envelope):
                delay = min(float(cfg.get("data_delay", 0)), 30.0)
                if self.data_replies:
                    reply = self.data_replies.pop(0)
                    log(event="data", reply=reply)
                    return reply
                self.accepted += 1
                with open(os.path.join(out, "message-%d.eml" % self.accepted), "wb") as f:
                    f.write(envelope.original_content)
                log(event="data", reply="250", number=self.accepted, recipients=envelope.rcpt_tos)
                if delay > 0 and self.accepted <= int(cfg.get("delayed_messages", 1)):
                    await asyncio.sleep(delay)
                return "250 2.0.0 queued"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == cfg["user"].encode()
                  and auth_data.password == cfg["password"].encode())
            log(event="auth", mechanism=mechanism, tls=is_tls(server), ok=ok)
            return AuthResult(success=ok, handled=False)

        async def main():
            loop = asyncio.get_running_loop()
            context = None
            if cfg.get("cert"):
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(cfg["cert"], cfg["key"])
            implicit = bool(cfg.get("implicit_tls"))
            handler = Handler()
            kwargs = dict(decode_data=False, enable_SMTPUTF8=True, hostname="sink.test", ident="sink",
                          timeout=30)
            if cfg.get("user"):
                kwargs.update(authenticator=authenticator,
                              auth_require_tls=not (cfg.get("auth_in_clear") or implicit))
            def factory():
                return SMTP(handler, tls_context=None if implicit else context,
                            require_starttls=bool(cfg.get("require_starttls")), **kwargs)
            server = await loop.create_server(factory, host="127.0.0.1", port=0,
                                              ssl=context if implicit else None)
            print(server.sockets[0].getsockname()[1], flush=True)
            stdin_closed = loop.run_in_executor(None, sys.stdin.buffer.read)
            try:
                await asyncio.wait_for(stdin_closed, timeout=float(cfg.get("lifetime", 120)))
            except asyncio.TimeoutError:
                pass
            server.close()

        try:
            asyncio.run(main())
        finally:
            events.close()
            os._exit(0)
        """#
}

/// A throw-away CA and a server certificate signed by it, made with the openssl command.
struct OutboundTestCA {
    struct Leaf {
        var certificatePath: String
        var keyPath: String
    }

    let directory: URL
    var caPath: String { directory.appendingPathComponent("ca.pem").path }

    static func make() throws -> OutboundTestCA {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbound-ca-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ca = OutboundTestCA(directory: directory)
        try ca.openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=MailBridge Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return ca
    }

    /// A server certificate for `dnsName`, signed by this CA.
    func leaf(dnsName: String) throws -> Leaf {
        let name = "leaf-\(UUID().uuidString.prefix(8))"
        try openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(name).key",
            "-out", "\(name).csr", "-subj", "/CN=\(dnsName)")
        let extensions = directory.appendingPathComponent("\(name).ext")
        try "subjectAltName=DNS:\(dnsName)\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
            .write(to: extensions, atomically: true, encoding: .utf8)
        try openssl(
            "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-out", "\(name).pem", "-extfile", extensions.path)
        return Leaf(
            certificatePath: directory.appendingPathComponent("\(name).pem").path,
            keyPath: directory.appendingPathComponent("\(name).key").path)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func openssl(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CertificateError(description: "openssl \(arguments.first ?? "") failed")
        }
    }
}

/// An `openssl` step of ``OutboundTestCA`` failed.
struct CertificateError: Error, CustomStringConvertible {
    var description: String
}
