import Foundation
import Logging
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// The webhook sender against a real HTTPS receiver on loopback (private CA, Python's `standardwebhooks` checks
/// every signature), over a real SQLite store whose trigger recorded the events (issue 29): retries after a 5xx and
/// after a timeout with the same `webhook-id`, bodies of IDs and times only, a refused certificate, a lost lease,
/// giving up, and secrets read again from their file.
@Suite(.serialized) struct WebhookDispatcherTests {
    static let canary = "KANARIENVOGEL-7f3a-Webhook"

    /// A store in a fresh folder with the subscription set and one client message (a new thread) imported.
    static func store() async throws -> (ThreadStore, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("webhooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try ThreadStore(at: folder.appendingPathComponent("threads.sqlite"), masterKey: .generate())
        try await ThreadStoreWebhookEvents(store).setWebhookSubscription(true, now: Date())
        let identity = ClientIdentity(field: try CounsellingField("beratung"),
                                      key: try ClientKeyFingerprint(String(repeating: "AB", count: 20)),
                                      address: try ClientAddress("klient@example.org"))
        _ = try await ThreadStoreImport(store).importMessage(
            NewMessage(direction: .inbound, messageID: "<\(canary)@example.org>", subject: "Betreff \(canary)",
                       body: Array("Text \(canary)".utf8), verdict: .valid, receivedAt: Date()),
            into: .client(identity))
        return (store, folder)
    }

    static func secretFile(_ folder: URL, _ secrets: [String]) throws -> String {
        let file = folder.appendingPathComponent("webhook-secrets")
        try (secrets.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    static func dispatcher(_ store: ThreadStore, receiver: WebhookReceiver, secretFile: String,
                           caFile: String?, timeout: Duration = .seconds(2), owner: String = "local",
                           giveUpAfter: Duration = .seconds(3600), logger: Logger,
                           metrics: GatewayMetrics? = nil) throws -> WebhookDispatcher {
        let sender = try WebhookSender(url: receiver.url, secrets: try WebhookSecrets.load(secretFile),
                                       secretFile: secretFile, caFile: caFile, timeout: timeout)
        var policy = WebhookRetryPolicy(giveUpAfter: giveUpAfter)
        policy.steps = [.zero]
        return WebhookDispatcher(store: ThreadStoreWebhookEvents(store), sender: sender, owner: owner,
                                 policy: policy, logger: logger, metrics: metrics)
    }

    @Test func retriesAfterAServerErrorAndATimeoutWithTheSameIDAndSignedBodiesOfIDsOnly() async throws {
        let receiver = try WebhookReceiver(script: ["500", "hang"])
        defer { receiver.stop() }
        let (store, folder) = try await Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let logs = LogCapture()
        let metrics = GatewayMetrics()
        let dispatcher = try Self.dispatcher(
            store, receiver: receiver, secretFile: try Self.secretFile(folder, [receiver.secret]),
            caFile: receiver.caFile.path, logger: logs.logger(), metrics: metrics)

        // Two events (thread.created, message.received); up to four at once: one gets 500, one hangs (2 s timeout).
        #expect(await dispatcher.runOnce() == 2)
        let events = try await ThreadStoreWebhookEvents(store).webhookEvents(state: nil, limit: 10)
        #expect(Set(events.map(\.type)) == [.threadCreated, .messageReceived])
        let statuses = Set(events.compactMap(\.lastStatus))
        #expect(statuses == [500, WebhookAttemptProblem.timedOut.rawValue], "\(events)")
        #expect(events.allSatisfy { $0.state == .pending && $0.attempts == 1 })
        // Due again at once (step 0): both delivered on the second attempt.
        #expect(await dispatcher.runOnce() == 2)
        let delivered = try await ThreadStoreWebhookEvents(store).webhookEvents(state: .delivered, limit: 10)
        #expect(delivered.count == 2 && delivered.allSatisfy { $0.attempts == 2 && $0.lastStatus == 204 })
        #expect(await dispatcher.runOnce() == 0)

        let received = try receiver.received()
        #expect(received.count == 4 && received.allSatisfy(\.verified), "\(received)")
        #expect(Set(received.compactMap(\.id)) == Set(events.map(\.id.unredactedDescription)))
        for id in Set(received.compactMap(\.id)) {
            #expect(received.filter { $0.id == id }.map(\.answer).last == "204", "\(id)")
        }
        for delivery in received {
            #expect(delivery.path == "/hooks" && delivery.contentType == "application/json")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: Any])
            #expect(Set(json.keys) == ["type", "timestamp", "data"], "\(delivery.body)")
            let data = try #require(json["data"] as? [String: String])
            #expect(Set(data.keys).isSubset(of: ["event_id", "thread_id", "message_id"]) && data["event_id"] == delivery.id)
            #expect(data.values.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) }, "\(data)")
            #expect(!delivery.body.contains(Self.canary) && !delivery.body.contains("example.org"))
        }
        #expect(!logs.all.joined().contains(Self.canary))
        let exposition = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(exposition.contains(#"mailbridge_webhook_results_total{result="retry"} 2"#), "\(exposition)")
        #expect(exposition.contains(#"mailbridge_webhook_results_total{result="delivered"} 2"#))
        await dispatcher.shutdown()
    }

    @Test func anUntrustedCertificateIsRefusedAndRecordedAsATLSFailure() async throws {
        let receiver = try WebhookReceiver()
        defer { receiver.stop() }
        let (store, folder) = try await Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        // The system's roots do not know the receiver's private CA.
        let dispatcher = try Self.dispatcher(
            store, receiver: receiver, secretFile: try Self.secretFile(folder, [receiver.secret]), caFile: nil,
            logger: LogCapture().logger())
        #expect(await dispatcher.runOnce() == 2)
        let events = try await ThreadStoreWebhookEvents(store).webhookEvents(state: nil, limit: 10)
        #expect(events.allSatisfy { $0.lastStatus == WebhookAttemptProblem.tlsFailed.rawValue && $0.state == .pending },
                "\(events)")
        #expect(try receiver.received().isEmpty)
        await dispatcher.shutdown()
    }

    @Test func aLeaseTakenOverIsNotSettledAndAnOldEventIsGivenUp() async throws {
        let receiver = try WebhookReceiver(script: ["503", "503", "503", "503"])
        defer { receiver.stop() }
        let (store, folder) = try await Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try Self.secretFile(folder, [receiver.secret])
        // Given up after the first failure: the retry would come after the event is older than 0 s.
        let dispatcher = try Self.dispatcher(store, receiver: receiver, secretFile: file,
                                             caFile: receiver.caFile.path, giveUpAfter: .zero,
                                             logger: LogCapture().logger())
        #expect(await dispatcher.runOnce() == 2)
        let failed = try await ThreadStoreWebhookEvents(store).webhookEvents(state: .failed, limit: 10)
        #expect(failed.count == 2 && failed.allSatisfy { $0.lastStatus == 503 && $0.finishedAt != nil })
        #expect(await dispatcher.runOnce() == 0)

        // Put back; another sender ("node-b") leases them first and holds the lease: nothing for "local".
        for event in failed { #expect(try await ThreadStoreWebhookEvents(store).retryWebhookEvent(event.id, now: Date())) }
        let taken = try await ThreadStoreWebhookEvents(store).leaseDueWebhookEvents(
            owner: "node-b", now: Date(), lease: 600, limit: 10)
        #expect(taken.count == 2)
        #expect(await dispatcher.runOnce() == 0)
        #expect(try receiver.received().count == 2)
        await dispatcher.shutdown()
    }

    @Test func secretsAreReadAgainBeforeEachBatchAndABrokenFileKeepsTheOldOnes() async throws {
        let old = WebhookReceiver.makeSecret()
        let receiver = try WebhookReceiver(secrets: [old])
        defer { receiver.stop() }
        let (store, folder) = try await Self.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let new = WebhookSecret.generate()
        // Signed with the new secret only: the receiver (old secret) cannot verify.
        let file = try Self.secretFile(folder, [new])
        let logs = LogCapture()
        let dispatcher = try Self.dispatcher(store, receiver: receiver, secretFile: file,
                                             caFile: receiver.caFile.path, logger: logs.logger())
        #expect(await dispatcher.runOnce() == 2)
        #expect(try receiver.received().map(\.verified) == [false, false])
        // Rotation: both secrets in the file; each request carries both signatures and verifies.
        let store2 = try await Self.store()
        defer { try? FileManager.default.removeItem(at: store2.1) }
        _ = try Self.secretFile(folder, [new, old])
        let second = try Self.dispatcher(store2.0, receiver: receiver, secretFile: file,
                                         caFile: receiver.caFile.path, logger: logs.logger())
        try "not a secret\n".write(toFile: file, atomically: true, encoding: .utf8)
        // The file broke after the sender read it: the secrets read at start stay in force, and the log names
        // the line, not a secret.
        #expect(await second.runOnce() == 2)
        #expect(try receiver.received().suffix(2).allSatisfy(\.verified))
        #expect(logs.all.contains { $0.contains("line 1") })
        #expect(!logs.all.joined().contains(old) && !logs.all.joined().contains(new))
        await dispatcher.shutdown()
        await second.shutdown()
    }

    /// Issue 29: with organisations each endpoint hears of the threads of its own organisation's fields only; an
    /// event of a field no organisation's webhook carries is given up unsent (`no endpoint`), never sent elsewhere.
    @Test func eachOrganisationsEndpointGetsOnlyItsOwnThreadsEvents() async throws {
        let (receiverA, receiverB) = (try WebhookReceiver(), try WebhookReceiver())
        defer { receiverA.stop(); receiverB.stop() }
        let (store, folder) = try await Self.store()  // one thread in "beratung"
        defer { try? FileManager.default.removeItem(at: folder) }
        for (number, field) in [(2, "familie"), (3, "schulden")] {
            let identity = ClientIdentity(field: try CounsellingField(field),
                                          key: try ClientKeyFingerprint(String(format: "%040X", number)),
                                          address: try ClientAddress("k\(number)@example.org"))
            _ = try await ThreadStoreImport(store).importMessage(
                NewMessage(direction: .inbound, messageID: "<m\(number)@example.org>", subject: "S",
                           body: Array("T".utf8), verdict: .valid, receivedAt: Date()),
                into: .client(identity))
        }
        var policy = WebhookRetryPolicy(giveUpAfter: .seconds(3600))
        policy.steps = [.zero]
        func route(_ receiver: WebhookReceiver, _ name: String, _ field: String) throws -> WebhookRoute {
            // `name` is the organisation's ID too (the metric's label).
            let sub = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            let file = try Self.secretFile(sub, [receiver.secret])
            return WebhookRoute(
                fields: [try CounsellingField(field)],
                sender: try WebhookSender(url: receiver.url, secrets: try WebhookSecrets.load(file), secretFile: file,
                                          caFile: receiver.caFile.path, timeout: .seconds(5)),
                policy: policy, organisation: "org-\(name)")
        }
        let metrics = GatewayMetrics()
        let dispatcher = WebhookDispatcher(
            store: ThreadStoreWebhookEvents(store),
            routes: [try route(receiverA, "a", "beratung"), try route(receiverB, "b", "familie")], owner: "local",
            concurrency: 10, logger: LogCapture().logger(), metrics: metrics)
        #expect(await dispatcher.runOnce() == 6)
        #expect(await dispatcher.runOnce() == 0)
        await dispatcher.shutdown()

        let events = try await ThreadStoreWebhookEvents(store).webhookEvents(state: nil, limit: 20)
        let threadOf = { (field: String) -> Set<ThreadID> in
            Set(events.filter { $0.field?.rawValue == field }.compactMap { $0.thread })
        }
        #expect(threadOf("beratung").count == 1 && threadOf("familie").count == 1 && threadOf("schulden").count == 1)
        let toA = Set(try receiverA.received().compactMap(\.id))
        let toB = Set(try receiverB.received().compactMap(\.id))
        let idsOf = { (field: String) -> Set<String> in
            Set(events.filter { $0.field?.rawValue == field }.map { $0.id.unredactedDescription })
        }
        #expect(toA == idsOf("beratung") && toB == idsOf("familie"))
        #expect(toA.count == 2 && toB.count == 2 && toA.isDisjoint(with: toB))
        for body in try receiverA.received().map(\.body) {
            for other in threadOf("familie").union(threadOf("schulden")) {
                #expect(!body.contains(other.unredactedDescription), "A hears nothing of another organisation")
            }
        }
        let unrouted = events.filter { $0.field?.rawValue == "schulden" }
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        for series in ["mailbridge_webhook_results_total{organisation=\"org-a\",result=\"delivered\"} 2",
                       "mailbridge_webhook_results_total{organisation=\"org-b\",result=\"delivered\"} 2",
                       "mailbridge_webhook_results_total{result=\"failed\"} 2"] {
            #expect(text.contains(series), "\(series) in \(text)")
        }
        #expect(unrouted.count == 2 && unrouted.allSatisfy {
            $0.state == .failed && $0.lastStatus == WebhookAttemptProblem.noEndpoint.rawValue
        }, "\(unrouted)")
    }

}

/// Maintenance deletes webhook events 30 days after they finished, on every node, with or without `[webhook]`.
@Suite struct WebhookMaintenanceTests {
    @Test func maintenanceDeletesFinishedEventsAfterThirtyDays() async throws {
        let (store, folder) = try await WebhookDispatcherTests.store()
        defer { try? FileManager.default.removeItem(at: folder) }
        let events = ThreadStoreWebhookEvents(store)
        let leased = try await events.leaseDueWebhookEvents(owner: "local", now: Date(), lease: 60, limit: 10)
        #expect(leased.count == 2)
        // One delivered 31 days ago, one 29 days ago (times as the sender recorded them).
        for (event, days) in zip(leased, [31.0, 29.0]) {
            #expect(try await events.settleWebhookAttempt(event.id, owner: "local", outcome: .delivered(status: 200),
                                                         now: Date().addingTimeInterval(-days * 86_400)))
        }
        let maintenance = try MaintenanceService(
            maintenance: ThreadStoreMaintenance(store), webState: ThreadStoreWebState(store),
            retention: BridgeConfiguration.Retention(), sessionIdleTimeout: 3600, webhooks: events,
            logger: LogCapture().logger())
        #expect(await maintenance.runOnce() != nil)
        #expect(try await events.webhookEvents(state: nil, limit: 10).map(\.id) == [leased[1].id])
    }
}

/// The pure parts: the signature against the specification's published example, secrets, the retry schedule.
@Suite struct WebhookSignatureTests {
    @Test func theSignatureMatchesTheSpecificationsExample() throws {
        let secret = try #require(WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let header = WebhookSignature.header(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                                             body: Array(#"{"test": 2432232314}"#.utf8),
                                             secrets: WebhookSecrets([secret, secret]))
        #expect(header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func secretsAreCheckedAndNeverShown() throws {
        #expect(WebhookSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == nil)
        #expect(WebhookSecret("whsec_" + Data(count: 16).base64EncodedString()) == nil)
        #expect(WebhookSecret("whsec_" + Data(count: 65).base64EncodedString()) == nil)
        #expect(WebhookSecret("whsec_not base64!") == nil)
        let generated = WebhookSecret.generate()
        #expect(WebhookSecret(generated) != nil && generated.count == 50)
        #expect("\(WebhookSecret(generated)!)" == "WebhookSecret(<redacted>)")
        let parsed = try WebhookSecrets.parse("# rotation\n\n\(generated)\n  \(WebhookSecret.generate())  \n",
                                               file: "f")
        #expect(parsed.secrets.count == 2 && "\(parsed)" == "WebhookSecrets(2)")
        #expect(throws: WebhookSecrets.Problem.self) { try WebhookSecrets.parse("\n# none\n", file: "f") }
        do {
            _ = try WebhookSecrets.parse("\(generated)\n\(generated.dropLast(3))%%%\n", file: "/etc/x")
            Issue.record("a broken second line was accepted")
        } catch {
            #expect(error.description.hasPrefix("/etc/x, line 2:") && !error.description.contains(generated))
        }
    }

    @Test func retriesFollowTheScheduleUntilTheEventIsTooOld() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let policy = WebhookRetryPolicy(giveUpAfter: .seconds(72 * 3600))
        #expect(policy.nextAttempt(afterAttempts: 1, occurredAt: start, now: start) == start.addingTimeInterval(5))
        #expect(policy.nextAttempt(afterAttempts: 2, occurredAt: start, now: start) == start.addingTimeInterval(300))
        #expect(policy.nextAttempt(afterAttempts: 9, occurredAt: start, now: start) == start.addingTimeInterval(36_000))
        // Near the end of the window the last attempt comes at its end, not a step before it; after it, none.
        let late = start.addingTimeInterval(70 * 3600)
        let deadline = start.addingTimeInterval(72 * 3600)
        #expect(policy.nextAttempt(afterAttempts: 9, occurredAt: start, now: late) == deadline)
        #expect(policy.nextAttempt(afterAttempts: 1, occurredAt: start, now: late) == late.addingTimeInterval(5))
        #expect(policy.nextAttempt(afterAttempts: 9, occurredAt: start, now: deadline) == nil)
        #expect(policy.nextAttempt(afterAttempts: 1, occurredAt: start, now: deadline.addingTimeInterval(1)) == nil)
    }
}
