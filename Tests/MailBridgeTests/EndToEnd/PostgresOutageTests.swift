import Foundation
import Logging
import MailBridge
import NIOCore
import PGPShim
import StorePostgres
import TestSupport
import Testing
import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// Issue 21 with faults: the daemon on PostgreSQL loses its database (a TCP relay between the two is killed, so
/// open connections break and new ones are refused) while clients keep sending. Mail is still accepted (`250` after
/// the node's own spool), nothing is imported while the database is away, no message is rejected or held for good,
/// and once the database is back every accepted message is imported or answered exactly once.
@Suite(.serialized) struct PostgresOutageTests {
    @Test(.timeLimit(.minutes(5))) func mailAcceptedDuringADatabaseOutageIsImportedOnceItIsBack() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let relay = try TCPRelay(to: server.port)
        defer { relay.stop() }
        try relay.start()
        let sink = try OutboundSink.start()
        defer { sink.stop() }
        let folder = URL(fileURLWithPath: "/tmp/mb-pg-outage-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.smarthost = .init(host: "127.0.0.1", port: sink.port, tls: .none)
        configuration.metrics.enabled = false
        configuration.web.enabled = false
        try configuration.usePostgreSQL(database, node: "outage", port: relay.port)
        configuration.store.postgresql?.connectTimeoutSeconds = 2
        let logs = LogCapture()
        let gateway = try await Gateway.start(configuration, logger: logs.logger())
        let running = Task { try await gateway.run() }
        let client = try GnuPGClient(home: folder.appendingPathComponent("client-gnupg"))
        defer {
            client.kill()
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        let gatewayKey = try #require(gateway.gatewayKeys["beratung@localhost"])
        try client.gpg(["--import"], stdin: try await gateway.pgp.exportPublicKey(gatewayKey))
        let tag = UUID().uuidString.prefix(6).lowercased()
        let signed = (0..<3).map { "neu\($0)-\(tag)@example.net" }
        let plain = (0..<3).map { "plain\($0)-\(tag)@example.net" }
        let keys = try client.makeKeys(signed)

        // The database goes away; mail keeps coming.
        relay.stop()
        for address in plain {
            try await PostgresGatewaySupport.send("From: \(address)\r\nTo: beratung@localhost\r\nSubject: Hallo\r\n"
                                + "Message-ID: <\(UUID())@example.net>\r\n\r\nIch brauche Hilfe.\r\n",
                                from: address, to: gateway, folder: folder)
        }
        for address in signed {
            let mail = try EncryptedTestMail.pgpMIME(
                client: client, from: address, to: "beratung@localhost", clientKey: try #require(keys[address]),
                gatewayKey: gatewayKey, inner: "Content-Type: text/plain; charset=utf-8\r\n\r\nHallo\r\n",
                messageID: "<\(UUID())@example.net>")
            try await PostgresGatewaySupport.send(mail, from: address, to: gateway, folder: folder)
        }
        try await Task.sleep(for: .seconds(8))
        #expect(sink.messages().isEmpty, "mail went out while the database was away")
        let spooled = Self.spooled(folder)
        #expect(spooled == plain.count + signed.count, "\(spooled) messages in the spool during the outage")

        // The database is back: everything goes through, once.
        try relay.start()
        let everyone = Set(plain + signed)
        let deadline = ContinuousClock.now + .seconds(150)
        var deliveries: [String: [String]] = [:]
        while ContinuousClock.now < deadline {
            deliveries = PostgresTwoNodeKillTests.deliveriesByRecipient(sink, among: everyone)
            if Set(deliveries.keys) == everyone, Self.spooled(folder) == 0 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        try await Task.sleep(for: .seconds(1))
        deliveries = PostgresTwoNodeKillTests.deliveriesByRecipient(sink, among: everyone)
        #expect(Set(deliveries.keys) == everyone, "no redirect or receipt for \(everyone.subtracting(deliveries.keys))")
        #expect(deliveries.values.allSatisfy { $0.count == 1 }, "\(deliveries.filter { $0.value.count != 1 })")
        #expect(Self.spooled(folder) == 0)
        guard case .postgresql(let opened) = gateway.engine else { throw PostgresServerFailure("not on PostgreSQL") }
        let (_, actor) = try await PostgresGatewaySupport.counsellor(opened.webState, channel: .commandLine)
        let list = try await opened.threads.listInbox(scope: actor.scope, state: nil, assignment: nil,
                                                      order: .lastActivity, limit: 50, after: nil)
        #expect(list.count == signed.count)
        for entry in list {
            let view = try await opened.threads.openThread(entry.id, page: MessagePageRequest(), by: actor,
                                                           event: .threadViewed)
            #expect(view.messages.count == 1 && view.messages.first?.verdict == .valid)
        }
        running.cancel()
        _ = await running.result
        let held = logs.all.filter { $0.contains("held in the spool") || $0.contains("rejected-encrypted") }
        #expect(held.isEmpty, "\(held.prefix(3))")
        print("database outage: \(logs.all.filter { $0.contains("will retry") }.count) retries logged while away")
    }

    /// Messages in the node's spool that the pipeline has not processed yet.
    static func spooled(_ folder: URL) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path + "/spool/incoming")) ?? []
        return names.filter { $0.hasSuffix(".eml") }.count
    }

}

/// A TCP relay on a loopback port to another (Python's asyncio, in its own process): killing it breaks every
/// connection through it and refuses new ones, as a database that went away does; starting it again on the same
/// port brings the database back.
final class TCPRelay: @unchecked Sendable {
    let port: Int
    let target: Int
    private var process: Process?
    static let script = """
        import asyncio, sys
        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except Exception:
                pass
            finally:
                writer.close()
        async def handle(reader, writer):
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection('127.0.0.1', int(sys.argv[2]))
            except Exception:
                writer.close()
                return
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        async def main():
            server = await asyncio.start_server(handle, '127.0.0.1', int(sys.argv[1]), reuse_address=True)
            async with server:
                await server.serve_forever()
        asyncio.run(main())
        """

    init(to target: Int) throws {
        self.target = target
        port = try FreePort.find()
    }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script, "\(port)", "\(target)"]
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        while !FreePort.isListening(port), Date() < deadline { usleep(20_000) }
    }

    /// SIGKILL: the relay's connections end at once.
    func stop() {
        guard let process else { return }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }
}
