// Outbound webhooks (issue 29) through the real `mailbridge serve` binary: an encrypted, signed client message sent
// over SMTP on loopback is announced to a real HTTPS receiver (TestSupport/WebhookReceiver.swift, behind a private
// CA) that verifies every request with the PyPI package standardwebhooks, an implementation independent of ours.
import Foundation
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing

/// The daemon's webhook sender end to end: signed, content-free announcements, retried after a failure with the
/// same `webhook-id`, and not lost when the daemon is killed (`kill -9`) in the middle of an attempt.
@Suite(.serialized, .enabled(if: GatewayDaemon.isBuilt, "build the mailbridge product first"))
struct WebhookDaemonTests {
    static let counselling = "beratung@localhost"
    /// `[webhook] timeout-seconds`; the dispatcher's lease is 2 × this + 30 s.
    static let timeoutSeconds = 2
    static var leaseSeconds: Int { 2 * timeoutSeconds + 30 }
    static let eventTypes: Set = ["thread.created", "message.received", "reply.sent", "reply.held", "key.changed"]

    /// Script `500`, then 204: the first attempt fails, the retry 5 s later succeeds with the same `webhook-id`.
    /// Every request verifies; the bodies are `type`, `timestamp` and `data` of 32-hex IDs only; the canary of the
    /// message's subject and body is in no request, not in the daemon's log and not in `webhooks list --json`,
    /// which reports every event delivered.
    @Test(.timeLimit(.minutes(2))) func encryptedCanaryMailIsAnnouncedSignedAndWithoutContent() async throws {
        let started = ContinuousClock.now
        let receiver = try WebhookReceiver(script: ["500"])
        defer { receiver.stop() }
        let daemon = try Self.daemon(name: "webhook-canary", receiver: receiver)
        defer { daemon.remove() }
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let mail = try Self.encryptedMail(daemon, canary: canary)

        // Trace: the most the daemon ever logs, all of it scanned for the canary below.
        let process = try daemon.launch(logLevel: "trace")
        defer { if process.isRunning { daemon.kill(process) } }
        try #require(try await daemon.waitUntilListening(process), "the gateway did not start: \(daemon.logText)")
        try await Self.send(mail, to: daemon)

        // Done when every event is delivered and the receiver got a 2xx for each (the retry comes 5 s after the 500).
        var listing: Listing?
        var deliveries: [WebhookReceiver.Delivery] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            deliveries = try receiver.received()
            listing = try Self.listing(daemon)
            if let listing, Self.allDelivered(listing, deliveries) { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        let final = try #require(listing)
        #expect(try await daemon.stop(process), "the daemon did not stop after SIGTERM")
        print("webhook canary: \(deliveries.count) requests for \(final.events.count) events, "
              + "\(daemon.logText.split(separator: "\n").count) trace log lines "
              + "(\(final.events.map(\.type).sorted())) in \(ContinuousClock.now - started)")
        try #require(Self.allDelivered(final, deliveries),
                     "not every event delivered within 30 s: \(final.events), \(deliveries)")

        // The 500, then a 2xx for the same webhook-id.
        let failed = try #require(deliveries.firstIndex { $0.answer == "500" }, "no attempt was answered 500")
        let failedID = try #require(deliveries[failed].id)
        #expect(deliveries[(failed + 1)...].contains { $0.id == failedID && Self.isSuccess($0.answer) },
                "no 2xx for \(failedID) after its 500: \(deliveries)")
        let retried = try #require(final.events.first { $0.id == failedID })
        #expect(retried.attempts == 2 && retried.lastStatus.map(Self.isSuccess) == true, "\(retried)")

        // Signed (checked by standardwebhooks), and exactly the announced events, nothing else.
        let unverified = deliveries.filter { !$0.verified }
        #expect(unverified.isEmpty, "not verified: \(unverified)")
        let types = Set(try deliveries.map { try Self.checkBody($0).type })
        #expect(types.isSuperset(of: ["thread.created", "message.received"]), "\(types)")
        #expect(Set(deliveries.compactMap(\.id)) == Set(final.events.map(\.id)))
        let threads = Set(final.events.compactMap(\.thread))
        #expect(threads.count == 1, "one message, one thread: \(final.events)")

        // The canary is nowhere outside the store: not in a request, not in the log, not in the listing.
        for delivery in deliveries {
            for text in [delivery.body, delivery.id, delivery.timestamp, delivery.signature, delivery.path,
                         delivery.contentType].compactMap({ $0 }) {
                #expect(!text.contains(canary), "canary in a webhook request: \(text)")
            }
        }
        #expect(!daemon.logText.contains(canary), "canary in the daemon's log")
        #expect(daemon.logLines(containing: "webhook events are sent") == 1)
        // The canary was read: the message went through decryption into its thread.
        let outcome = daemon.logText.split(separator: "\n").first { $0.contains("inbound processed") }
        #expect(outcome?.contains("imported(") == true, "not imported: \(outcome ?? "not processed")")
        #expect(!(try daemon.command(["webhooks", "list", "--json"]).stdout.text.contains(canary)))
        #expect(final.configured)
        #expect(final.counts["pending"] == 0 && final.counts["failed"] == 0, "\(final.counts)")
        #expect(final.counts["delivered"] == final.events.count && final.events.allSatisfy { $0.state == "delivered" })
    }

    /// Script `hang`, then 204: the first request is held open, and the daemon is killed with `kill -9` while it
    /// waits for the answer (before its 2 s timeout), so the attempt is never settled. The daemon is started again
    /// on the same folder (same receiver, same URL): once the lease (2 × 2 s + 30 s) has run out, the event is sent
    /// again with the SAME `webhook-id`, and every event ends delivered, none pending.
    @Test(.timeLimit(.minutes(2))) func nothingIsLostAcrossKillDashNine() async throws {
        let started = ContinuousClock.now
        let receiver = try WebhookReceiver(script: ["hang"])
        defer { receiver.stop() }
        let daemon = try Self.daemon(name: "webhook-kill", receiver: receiver)
        defer { daemon.remove() }
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        let mail = try Self.encryptedMail(daemon, canary: canary)

        var process = try daemon.launch()
        defer { if process.isRunning { daemon.kill(process) } }
        try #require(try await daemon.waitUntilListening(process), "the gateway did not start: \(daemon.logText)")
        try await Self.send(mail, to: daemon)

        // The first request is on disk before the receiver starts to hang: kill at once, well within the 2 s.
        let firstDeadline = ContinuousClock.now + .seconds(30)
        var before: [WebhookReceiver.Delivery] = []
        while before.isEmpty, ContinuousClock.now < firstDeadline {
            before = try receiver.received()
            if before.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        }
        let recordedAt = ContinuousClock.now
        daemon.kill(process)
        let killedAfter = ContinuousClock.now - recordedAt
        let hung = try #require(before.first, "no webhook request within 30 s: \(daemon.logText)")
        #expect(hung.answer == "hang")
        let hungID = try #require(hung.id)
        let hungTimestamp = try #require(hung.timestamp.flatMap { Int($0) })

        // The killed attempt was never settled: still pending, counted, no answer recorded.
        let atKill = try #require(try Self.listing(daemon))
        let unsettled = try #require(atKill.events.first { $0.id == hungID }, "\(atKill.events)")
        let settledTooSoon = "the hanging attempt was settled before the kill (\(killedAfter) after it was "
            + "recorded): \(unsettled)"
        try #require(unsettled.state == "pending" && unsettled.attempts == 1 && unsettled.lastStatus == nil
                     && unsettled.lastProblem == nil, "\(settledTooSoon)")
        let recordedBeforeRestart = try receiver.received().count

        // Restart on the same folder; the lease must run out before the event goes out again.
        process = try daemon.launch()
        try #require(try await daemon.waitUntilListening(process), "the gateway did not restart: \(daemon.logText)")
        let restarted = ContinuousClock.now
        var listing: Listing?
        var deliveries: [WebhookReceiver.Delivery] = []
        let deadline = ContinuousClock.now + .seconds(Self.leaseSeconds + 26)
        while ContinuousClock.now < deadline {
            deliveries = try receiver.received()
            listing = try Self.listing(daemon)
            // Each event has a 2xx (one answered before the kill may not be sent again), the killed one after it.
            if let listing, Self.allDelivered(listing, deliveries),
                deliveries[recordedBeforeRestart...].contains(where: { $0.id == hungID && Self.isSuccess($0.answer) })
            {
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let final = try #require(listing)
        let afterRestart = Array(deliveries[recordedBeforeRestart...])
        #expect(try await daemon.stop(process), "the daemon did not stop after SIGTERM")
        let resent = afterRestart.first { $0.id == hungID }
        print("webhook kill -9: killed \(killedAfter) after the hanging request was recorded; \(final.events.count) "
              + "events (\(final.events.map(\.type).sorted())), \(deliveries.count) requests, "
              + "\(afterRestart.count) after the restart; the hung event sent again "
              + "\(resent?.timestamp.flatMap { Int($0) }.map { "\($0 - hungTimestamp) s" } ?? "never") after its "
              + "first attempt; all delivered \(ContinuousClock.now - restarted) after the restart; total "
              + "\(ContinuousClock.now - started)")

        // Every event delivered after the restart, none pending or given up.
        #expect(Self.allDelivered(final, deliveries),
                "not all delivered after the restart: \(final.events), \(deliveries)")
        #expect(final.counts["pending"] == 0 && final.counts["failed"] == 0, "\(final.counts)")
        #expect(final.events.allSatisfy { $0.state == "delivered" }, "\(final.events)")
        #expect(Set(final.events.map(\.type)).isSuperset(of: ["thread.created", "message.received"]))

        // The killed attempt went out again with the same webhook-id, and only once the lease had run out.
        let again = try #require(resent, "the hung event \(hungID) was not sent again: \(afterRestart)")
        #expect(Self.isSuccess(again.answer), "\(again)")
        let againTimestamp = try #require(again.timestamp.flatMap { Int($0) })
        #expect(againTimestamp - hungTimestamp >= Self.leaseSeconds - 2,
                "sent again \(againTimestamp - hungTimestamp) s after the killed attempt, before its lease ran out")
        let event = try #require(final.events.first { $0.id == hungID })
        #expect(event.attempts == 2 && event.lastStatus.map(Self.isSuccess) == true, "\(event)")

        // All signed, all content-free.
        let unverified = deliveries.filter { !$0.verified }
        #expect(unverified.isEmpty, "not verified: \(unverified)")
        for delivery in deliveries {
            _ = try Self.checkBody(delivery)
            #expect(!delivery.body.contains(canary))
        }
        #expect(!daemon.logText.contains(canary), "canary in the daemon's log")
    }

    // MARK: - Helpers

    /// `mailbridge webhooks list --json`.
    struct Listing: Decodable {
        struct Event: Decodable {
            var id: String
            var type: String
            var thread: String?
            var message: String?
            var state: String
            var attempts: Int
            var lastStatus: Int?
            var lastProblem: String?
        }

        var configured: Bool
        var counts: [String: Int]
        var events: [Event]
    }

    /// A daemon with the counselling mailbox and `[webhook]` pointing at `receiver`: its secret in a file (0600)
    /// in the daemon's folder, its CA as `ca-file`, a 2 s timeout.
    static func daemon(name: String, receiver: WebhookReceiver) throws -> GatewayDaemon {
        let daemon = try GatewayDaemon(name: name, sections: """
            \(GatewayDaemon.counsellingMailbox)
            [metrics]
            enabled = false
            [web]
            enabled = false
            """)
        let secretFile = daemon.folder.appending(path: "webhook-secrets")
        guard FileManager.default.createFile(atPath: secretFile.path, contents: Data((receiver.secret + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: secretFile.path]) }
        // `sections` are the configuration's last lines: the table can be appended.
        let handle = try FileHandle(forWritingTo: daemon.config)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("""

            [webhook]
            url = "\(receiver.url)"
            secret-file = "\(secretFile.path)"
            ca-file = "\(receiver.caFile.path)"
            timeout-seconds = \(timeoutSeconds)

            """.utf8))
        return daemon
    }

    /// A PGP/MIME message from a new client (its key in an Autocrypt header), signed by the client and encrypted to
    /// the gateway's exported key, with `canary` in the outer and the protected subject and in the body. CRLF.
    static func encryptedMail(_ daemon: GatewayDaemon, canary: String) throws -> (from: String, bytes: String) {
        let client = try GnuPGClient(home: daemon.folder.appending(path: "client"))
        defer { client.kill() }
        try client.gpg(["--import"], stdin: try daemon.command(["keys", "export"]).stdout)
        let gateway = try client.fingerprint(counselling)
        let address = "klient-\(UUID().uuidString.prefix(6).lowercased())@example.net"
        let key = try client.makeKey(address)
        let inner = "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n"
            + "Subject: \(canary)-subject\r\n\r\nVertraulich: \(canary)-body\r\n"
        let mail = try EncryptedTestMail.pgpMIME(
            client: client, from: address, to: counselling, clientKey: key, gatewayKey: gateway, inner: inner,
            messageID: "<webhook-\(UUID())@example.net>")
        return (address, mail.replacingOccurrences(of: "Subject: ...\r\n", with: "Subject: \(canary)-outer\r\n"))
    }

    /// Sends `mail` over SMTP to the daemon; requires `250`.
    static func send(_ mail: (from: String, bytes: String), to daemon: GatewayDaemon) async throws {
        let smtp = SMTPClient(configuration: SMTPClientConfiguration(
            host: "127.0.0.1", port: daemon.port, tlsMode: .none, heloName: "webhook.test", stepTimeout: .seconds(30)))
        let result = await smtp.deliver(
            OutboundEnvelope(reversePath: .mailbox(try EmailAddress(mail.from)),
                             recipients: [try EmailAddress(counselling)]),
            message: ByteBuffer(string: mail.bytes))
        try #require(result.isDelivered, "the gateway did not accept the message: \(result)")
    }

    /// `webhooks list --json` against the daemon's configuration (the binary as its own process).
    static func listing(_ daemon: GatewayDaemon) throws -> Listing? {
        let result = try daemon.command(["webhooks", "list", "--json"])
        return try JSONDecoder().decode(Listing.self, from: Data(result.stdout))
    }

    static func isSuccess(_ answer: String) -> Bool { Int(answer).map { (200...299).contains($0) } ?? false }
    static func isSuccess(_ status: Int) -> Bool { (200...299).contains(status) }

    /// At least one event, none pending or given up, and a 2xx among `deliveries` for each.
    static func allDelivered(_ listing: Listing, _ deliveries: [WebhookReceiver.Delivery]) -> Bool {
        let answered = Set(deliveries.filter { isSuccess($0.answer) }.compactMap(\.id))
        return !listing.events.isEmpty && listing.events.allSatisfy { $0.state == "delivered" }
            && listing.events.allSatisfy { answered.contains($0.id) }
    }

    /// Checks a request as the platform sees it: POST to `/hooks` as JSON; a body of exactly `type`, `timestamp` and
    /// `data`, `data` of `event_id` (the `webhook-id`), `thread_id` and, for a message's event, `message_id`, each 32
    /// lowercase hex digits. Returns the type and IDs.
    @discardableResult
    static func checkBody(_ delivery: WebhookReceiver.Delivery) throws -> (type: String, data: [String: String]) {
        #expect(delivery.path == "/hooks")
        #expect(delivery.contentType == "application/json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: Any],
                                  "not a JSON object: \(delivery.body)")
        #expect(Set(object.keys) == ["type", "timestamp", "data"], "\(delivery.body)")
        let type = try #require(object["type"] as? String)
        #expect(eventTypes.contains(type), "\(type)")
        let timestamp = try #require(object["timestamp"] as? String)
        let iso8601 = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        #expect((try? iso8601.parse(timestamp)) != nil, "\(timestamp)")
        let data = try #require(object["data"] as? [String: String], "\(delivery.body)")
        #expect(Set(data.keys).isSubset(of: ["event_id", "thread_id", "message_id"]), "\(delivery.body)")
        #expect(data["event_id"] != nil && data["event_id"] == delivery.id, "\(delivery.body)")
        #expect(data["thread_id"] != nil, "\(delivery.body)")
        if type == "message.received" { #expect(data["message_id"] != nil, "\(delivery.body)") }
        if type == "thread.created" { #expect(data["message_id"] == nil, "\(delivery.body)") }
        for (key, value) in data {
            #expect(value.count == 32 && value.allSatisfy { "0123456789abcdef".contains($0) }, "\(key): \(value)")
        }
        return (type, data)
    }
}
