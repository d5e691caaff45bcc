import Foundation
import Logging
import MailBridge
import NIOCore
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

/// Issue 21: the whole daemon (`mailbridge serve`) with `[store] engine = "postgresql"` on a real PostgreSQL
/// server. Real clients send a plain mail (Python's smtplib) and a signed PGP/MIME mail (swaks, gpg); the redirect,
/// the notice and the receipt leave through the shared outbox (leased to this node) to a local sink; a counsellor's
/// reply goes the same way. The thread is read back through the inbox seam on the same database. No SQLite store
/// appears in the data folder, and no canary reaches the sink, the logs, PostgreSQL's data folder or a `pg_dump`.
@Suite struct PostgresGatewayTests {
    @Test func plainAndEncryptedMailThroughTheGatewayOnPostgreSQL() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let folder = URL(fileURLWithPath: "/tmp/mb-pg-e2e-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
        configuration.metrics.enabled = false
        configuration.web.port = 0
        try configuration.usePostgreSQL(database, node: "node-a")

        let logs = LogCapture()
        let gateway = try await Gateway.start(configuration, logger: logs.logger())
        let running = Task { try await gateway.run() }
        let port = try #require(gateway.listener.localAddress?.port)
        let client = try GnuPGClient(home: folder.appendingPathComponent("client-gnupg"))
        defer {
            client.kill()
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        guard case .postgresql(let opened) = gateway.engine else {
            Issue.record("the gateway did not open PostgreSQL: \(gateway.engine)")
            return
        }
        // The commands without a seam say so instead of opening a SQLite file beside PostgreSQL.
        #expect(throws: ConfigurationError.self) { _ = try gateway.store }
        let canary = "CANARY\(UUID().uuidString.prefix(8))"

        let script = """
            import smtplib, sys
            from email.message import EmailMessage
            m = EmailMessage()
            m['From'] = 'plain@example.net'; m['To'] = 'beratung@localhost'; m['Subject'] = sys.argv[2] + '-subject'
            m.set_content('Ich brauche Hilfe ' + sys.argv[2] + '-body')
            with smtplib.SMTP('127.0.0.1', int(sys.argv[1])) as s:
                s.send_message(m)
            """
        try await offCooperativePool { _ = try Shell.run("python3", ["-c", script, "\(port)", canary]) }

        let gatewayKey = try #require(gateway.gatewayKeys["beratung@localhost"])
        try client.gpg(["--import"], stdin: try await gateway.pgp.exportPublicKey(gatewayKey))
        let clientKey = try client.makeKey("klient@example.net")
        let inner = "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\nSubject: \(canary)-inner\r\n\r\n"
            + "Vertraulich: \(canary)-secret\r\n"
        let mail = try EncryptedTestMail.pgpMIME(
            client: client, from: "klient@example.net", to: "beratung@localhost", clientKey: clientKey,
            gatewayKey: gatewayKey, inner: inner, messageID: "<pg-e2e-\(UUID())@example.net>")
        let mailFile = folder.appendingPathComponent("pgpmime.eml")
        try Data(mail.utf8).write(to: mailFile)
        let swaks = try await offCooperativePool {
            try Shell.run("swaks", ["--server", "127.0.0.1:\(port)", "--from", "klient@example.net",
                                    "--to", "beratung@localhost", "--data", mailFile.path])
        }
        #expect(swaks.stdout.text.contains("250 2.0.0"))

        // The redirect, the notice and the receipt, each delivered once through the shared outbox.
        var deadline = ContinuousClock.now + .seconds(30)
        while sink.messages().count < 3 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        var delivered = sink.messages().map { String(decoding: $0, as: UTF8.self) }
        #expect(delivered.count == 3)
        #expect(delivered.contains { $0.contains("https://beratung.example/login") })
        #expect(delivered.contains { $0.contains("multipart/encrypted") && $0.contains("To: klient@example.net") })

        // The thread, read by a counsellor through the inbox seam on the same database.
        let (account, actor) = try await PostgresGatewaySupport.counsellor(opened.webState)
        let list = try await opened.threads.listInbox(scope: actor.scope, state: nil, assignment: nil,
                                                      order: .lastActivity, limit: 10, after: nil)
        #expect(list.count == 1)
        let thread = try #require(list.first)
        let view = try await opened.threads.openThread(
            thread.id, page: MessagePageRequest(), by: actor, event: .threadViewed)
        #expect(view.messages.first?.subject == "\(canary)-inner")
        let body = String(decoding: view.messages.first?.body ?? [], as: UTF8.self)
        #expect(body.contains("\(canary)-secret"))
        #expect(view.messages.first?.verdict == .valid)
        #expect(view.clientKey?.unredactedDescription == clientKey.hex)

        // A counsellor's reply: committed on PostgreSQL, leased and delivered by this node, encrypted.
        let reply = try await gateway.replies.queueReply(thread: thread.id, text: "Antwort \(canary)-reply",
                                                         counsellor: "Anna", actor: account, via: .browser)
        #expect("\(reply)".contains("queued"), "\(reply)")
        deadline = ContinuousClock.now + .seconds(30)
        while sink.messages().count < 4 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        delivered = sink.messages().map { String(decoding: $0, as: UTF8.self) }
        #expect(delivered.count == 4)
        #expect(delivered.filter { $0.contains("multipart/encrypted") }.count == 2)

        running.cancel()
        _ = await running.result

        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("threads.sqlite").path))
        for text in delivered { #expect(!text.contains(canary), "canary in outbound mail") }
        for line in logs.all { #expect(!line.contains(canary), "canary in a log line") }
        try await offCooperativePool { _ = try server.psql("CHECKPOINT") }
        let hits = try PostgresCanaryScan.folder(server.dataDirectory, for: [canary])
            + PostgresCanaryScan.dump(database.name, on: server, for: [canary])
        #expect(hits.isEmpty, "\(hits.prefix(5))")
    }
}

/// `mailbridge queue list` on PostgreSQL (issue 21): every node's outbox rows, without recipients or content.
@Suite struct PostgresQueueListTests {
    @Test func queueListShowsEveryNodesRowsWithoutContent() async throws {
        let database = try await PostgresServer.shared().makeDatabase()
        let folder = URL(fileURLWithPath: "/tmp/mb-pg-queue-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        try configuration.usePostgreSQL(database, node: "node-a")
        let installation = try await OpenedInstallation.open(configuration, logger: Logger(label: "test.queue"))
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        guard case .postgresql(let opened) = installation.engine else {
            Issue.record("not on PostgreSQL")
            return
        }
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        var queued: Set<String> = []
        for index in 0..<3 {
            queued.insert(try await opened.outbox.enqueue(NewOutboxItem(
                thread: nil, kind: .notification, recipient: try ClientAddress("team\(index)-\(canary)@example.org"),
                payload: Array("notice \(canary)".utf8), notBefore: Date())).unredactedDescription)
        }
        let text = try await QueueAdmin.list(installation, json: false).output
        let json = try await QueueAdmin.list(installation, json: true).output
        for id in queued { #expect(text.contains(id) && json.contains(id)) }
        #expect(text.split(separator: "\n").count == 3 && text.contains("notification"), "\(text)")
        #expect(!text.contains(canary) && !json.contains(canary))
        await installation.close()
    }
}
