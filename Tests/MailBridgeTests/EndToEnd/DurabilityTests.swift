import Foundation
import Logging
import MailBridge
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// kill -9 during a load of N messages, then restart on the same spool: every message that got 250 is present
/// exactly once. The listener runs in a child process: this test binary re-executed with
/// `--filter runListenerAsChild` and the spool folder in the environment.
///
/// SIGKILL proves the order "durable rename, then 250" against process death; it does not simulate power loss
/// (that is what the fsyncs are for, and they cannot be tested without a disk that lies).
struct DurabilityTests {
    static let spoolVariable = "MAILBRIDGE_SMTP_CHILD_SPOOL"
    static let portFileVariable = "MAILBRIDGE_SMTP_CHILD_PORT_FILE"
    static var isChild: Bool { ProcessInfo.processInfo.environment[spoolVariable] != nil }

    /// Child side: serve on 127.0.0.1:0, publish the port, run until killed (bounded to 60 s).
    @Test(.enabled(if: DurabilityTests.isChild, "only inside the child process of killDashNineLosesNoAcceptedMessage"))
    func runListenerAsChild() async throws {
        let environment = ProcessInfo.processInfo.environment
        let spool = try SpoolIntake(root: URL(filePath: environment[Self.spoolVariable]!))
        try spool.recover()
        let listener = try await SMTPListener.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: SMTPServerConfiguration(maximumConnectionsPerIP: 100, maximumConnections: 100),
            policy: RecipientPolicy(accepting: [SMTPTestServer.counselling]),
            intake: spool,
            logger: SMTPTestServer.quietLogger
        )
        let portFile = URL(filePath: environment[Self.portFileVariable]!)
        try Data("\(listener.localAddress!.port!)".utf8).write(to: portFile, options: .atomic)
        let serving = Task { try await listener.run() }
        try await Task.sleep(for: .seconds(60))
        await listener.close()
        try await serving.value
    }

    actor Accepted {
        var queueIDs: [String: String] = [:]  // marker -> queue ID from the 250 reply
        func record(_ marker: String, _ reply: String) {
            queueIDs[marker] = reply.components(separatedBy: " ").last
        }
        var count: Int { queueIDs.count }
    }

    @Test(.disabled(if: DurabilityTests.isChild))
    func killDashNineLosesNoAcceptedMessage() async throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "mailbridge-kill9-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let spoolRoot = folder.appending(path: "spool")
        let portFile = folder.appending(path: "port")

        let child = Process()
        child.executableURL = URL(filePath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["--testing-library", "swift-testing", "--filter", "runListenerAsChild"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.spoolVariable] = spoolRoot.path
        environment[Self.portFileVariable] = portFile.path
        child.environment = environment
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }

        var port: Int?
        for _ in 0..<300 where port == nil {
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
            if port == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let serverPort = try #require(port, "child listener did not start")

        let accepted = Accepted()
        let clients = 10
        let perClient = 30
        let killAfter = 80
        let payload = String(repeating: String(repeating: "p", count: 78) + "\r\n", count: 50)  // 4 KB
        let pid = child.processIdentifier
        await withTaskGroup(of: Void.self) { group in
            for clientIndex in 0..<clients {
                group.addTask {
                    guard var client = try? await RawSMTPClient.connect(port: serverPort) else { return }
                    let connection = client.channel
                    defer { connection.close(promise: nil) }
                    guard (try? await client.readReply())?.code == 220,
                        (try? await client.command("EHLO load")) == 250
                    else { return }
                    for index in 0..<perClient {
                        let marker = "m-\(clientIndex)-\(index)"
                        guard (try? await client.command("MAIL FROM:<client@example.net>")) == 250,
                            (try? await client.command("RCPT TO:<beratung@example.org>")) == 250,
                            (try? await client.command("DATA")) == 354
                        else { return }
                        guard (try? await client.send("X-Marker: \(marker)\r\n\r\n\(payload).\r\n")) != nil,
                            let reply = try? await client.readReply()
                        else { return }
                        guard reply.code == 250 else { return }
                        await accepted.record(marker, reply.lines[0])
                        if await accepted.count == killAfter { kill(pid, SIGKILL) }
                    }
                }
            }
        }
        for _ in 0..<100 where child.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!child.isRunning)
        #expect(child.terminationReason == .uncaughtSignal, "the child was killed, not finished")

        // Restart on the same spool: recover, then list what is pending.
        let spool = try SpoolIntake(root: spoolRoot)
        try spool.recover()
        let pending = try spool.pending()
        var markers: [String: [String]] = [:]  // marker -> queue IDs holding it
        for message in pending {
            let text = try String(contentsOf: message.spoolFile, encoding: .utf8)
            let marker = text.components(separatedBy: "\r\n").first { $0.hasPrefix("X-Marker: ") }
            markers[String(marker?.dropFirst(10) ?? "?"), default: []].append(message.queueID.rawValue)
            #expect(text.hasSuffix(payload), "every spooled message is complete")
        }
        let acknowledged = await accepted.queueIDs
        #expect(acknowledged.count >= killAfter)
        for (marker, queueID) in acknowledged {
            #expect(markers[marker] == [queueID], "message \(marker) got 250 and must be present exactly once")
        }
        #expect(markers.values.allSatisfy { $0.count == 1 }, "no message is spooled twice")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.temporaryFolder.path).isEmpty)
        print("kill -9 test: \(acknowledged.count) acknowledged, \(pending.count) spooled after restart")
    }
}
