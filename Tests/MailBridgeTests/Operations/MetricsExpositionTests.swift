import Foundation
import TestSupport
import Testing
import ThreadStore

@testable import MailBridge

/// Issue 22 (administrators): the metrics as Prometheus reads them. Python's `prometheus_client` text parser
/// (PyPI, pinned by `scripts/install-deps --test` into the test virtual environment) parses the exposition of a
/// running gateway's endpoint and of every family the gateway can export: each family has `# HELP` and `# TYPE`
/// lines, every label name and value is snake_case, and the queue depth per kind and state that the example
/// configuration promises is there.
@Suite struct MetricsExpositionTests {
    static var python: String {
        (ProcessInfo.processInfo.environment["MAILBRIDGE_TEST_VENV"] ?? "/opt/mailbridge-test-venv") + "/bin/python3"
    }

    /// Reads the exposition from a URL (argument) or standard input, parses it with prometheus_client and prints
    /// the families as JSON: name, type, help and each sample's name and labels.
    static let parser = """
        import json, sys, urllib.request
        from prometheus_client.parser import text_string_to_metric_families
        if len(sys.argv) > 1:
            text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode("utf-8")
        else:
            text = sys.stdin.read()
        families = [{"name": f.name, "type": f.type, "help": f.documentation,
                     "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
                    for f in text_string_to_metric_families(text)]
        print(json.dumps(families))
        """

    struct Family: Decodable {
        struct Sample: Decodable {
            var name: String
            var labels: [String: String]
            var value: Double
        }
        var name: String
        var type: String
        var help: String
        var samples: [Sample]
    }

    /// Parses with the real parser: from `url`, or `text` on standard input.
    static func parse(url: String? = nil, text: String? = nil) throws -> [Family] {
        try #require(FileManager.default.isExecutableFile(atPath: python),
                     "the test virtual environment is missing: run scripts/install-deps --test")
        let result = try runProcess(python, ["-c", parser] + (url.map { [$0] } ?? []), timeout: 30, input: text)
        try #require(result.status == 0, "prometheus_client could not parse the exposition:\n\(result.output)")
        return try JSONDecoder().decode([Family].self, from: Data(result.output.utf8))
    }

    static func isSnakeCase(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Every family described and typed, every label snake_case. The parser names a counter family without its
    /// `_total` suffix.
    static func expectWellFormed(_ families: [Family], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!families.isEmpty, sourceLocation: sourceLocation)
        for family in families {
            #expect(!family.help.isEmpty, "\(family.name) has no HELP line", sourceLocation: sourceLocation)
            #expect(["counter", "gauge", "histogram"].contains(family.type), "\(family.name): \(family.type)",
                    sourceLocation: sourceLocation)
            #expect(family.name.hasPrefix("mailbridge_") && isSnakeCase(family.name), sourceLocation: sourceLocation)
            for sample in family.samples {
                for (name, value) in sample.labels where name != "le" {
                    #expect(isSnakeCase(name) && isSnakeCase(value), "\(sample.name){\(name)=\"\(value)\"}",
                            sourceLocation: sourceLocation)
                }
            }
        }
    }

    /// The queue depth gauge's value for one kind and state, if exported.
    static func depth(_ families: [Family], kind: String, state: String) -> Double? {
        families.first { $0.name == "mailbridge_outbound_queue_depth" }?.samples
            .first { $0.labels == ["kind": kind, "state": state] }?.value
    }

    /// Every family of ``MetricCatalog``, made by calling every metric of ``GatewayMetrics`` once (label values
    /// that were camelCase or kebab-case before: rejection reasons, quarantine causes, IMAP reasons).
    @Test func everyFamilyTheGatewayExportsIsDescribedAndSnakeCase() throws {
        let metrics = GatewayMetrics()
        metrics.messageAccepted()
        metrics.processed(.rejectedEncrypted(.notForUs), received: Date())
        metrics.processed(.redirectSuppressed("rate-limit"), received: Date())
        metrics.outboundResult("delivered")
        metrics.threadsWaiting(overHours: 24, count: 2)
        metrics.imapMessageSetAside(reason: "fetch-failed", moved: true)
        metrics.gatewayKeys(expiringSoon: 1, soonestExpiry: 86_400)
        metrics.spoolQuarantined(.missingEnvelope)
        metrics.rejectedKept(.integrityProtectionMissing)
        var depth = OutboxDepth()
        depth.items[OutboxDepth.Key(kind: .notification, state: .failed)] = 3
        depth.heldReplies = 2
        metrics.outboundQueueDepth(depth)
        metrics.webhookResult(.retry)
        metrics.organisationKey("caritas", loaded: false)

        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        let families = try Self.parse(text: text)
        Self.expectWellFormed(families)
        let counters = Set(MetricCatalog.help.keys.filter { $0.hasSuffix("_total") })
        let parsedNames = Set(families.map { counters.contains($0.name + "_total") ? $0.name + "_total" : $0.name })
        #expect(parsedNames == Set(MetricCatalog.help.keys), "\(text)")
        for family in families {
            let name = counters.contains(family.name + "_total") ? family.name + "_total" : family.name
            #expect(family.help == MetricCatalog.help[name])
        }
        let samples = families.flatMap(\.samples)
        #expect(samples.contains { $0.labels["outcome"] == "rejected_not_for_us" })
        #expect(samples.contains { $0.labels["reason"] == "integrity_protection_missing" })
        #expect(samples.contains { $0.labels["reason"] == "fetch_failed" && $0.labels["moved"] == "yes" })
        #expect(samples.contains { $0.labels["cause"] == "missing_envelope" })
        // Every kind and state, zeros included, and the held replies.
        for kind in ["redirect_reply", "counsellor_reply", "notification", "delivery_status", "receipt"] {
            for state in ["pending", "failed"] {
                #expect(Self.depth(families, kind: kind, state: state) == (kind == "notification" && state == "failed"
                    ? 3 : 0), "\(kind) \(state)")
            }
        }
        #expect(Self.depth(families, kind: "counsellor_reply", state: "held") == 2)
    }

    @Test func labelValuesBecomeSnakeCase() {
        #expect(MetricCatalog.labelValue("notForUs") == "not_for_us")
        #expect(MetricCatalog.labelValue("fetch-failed") == "fetch_failed")
        #expect(MetricCatalog.labelValue("redirect_suppressed") == "redirect_suppressed")
        #expect(MetricCatalog.labelValue("unreadable") == "unreadable")
    }

    /// The real daemon's endpoint, scraped over HTTP by the parser, after one plain mail whose redirect waits in
    /// the queue (its smarthost refuses connections): the queue depth counts it as a pending redirect reply.
    @Test(.timeLimit(.minutes(3))) func aRunningGatewaysEndpointParsesWithTheQueueDepth() async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product first")
        let metricsPort = try FreePort.find()
        let closedPort = try FreePort.find()
        let daemon = try GatewayDaemon(name: "metrics", sections: """
            \(GatewayDaemon.counsellingMailbox)
            [smarthost]
            host = "127.0.0.1"
            port = \(closedPort)
            tls = "none"
            [metrics]
            enabled = true
            listen = "127.0.0.1"
            port = \(metricsPort)
            [web]
            enabled = false
            """)
        defer { daemon.remove() }
        let process = try daemon.launch()
        defer { daemon.kill(process) }
        #expect(try await daemon.waitUntilListening(process), "\(daemon.logText)")
        let url = "http://127.0.0.1:\(metricsPort)/metrics"

        let mail = daemon.folder.appending(path: "plain.eml")
        try Data("Subject: Hallo\r\nFrom: klient@example.net\r\nTo: beratung@localhost\r\n\r\nText\r\n".utf8)
            .write(to: mail)
        let swaks = try Shell.run("swaks", ["--server", "127.0.0.1:\(daemon.port)", "--from", "klient@example.net",
                                            "--to", "beratung@localhost", "--data", mail.path])
        #expect(swaks.stdout.text.contains("250 2.0.0"))

        // The monitor counts every 15 seconds.
        var families = try Self.parse(url: url)
        let deadline = ContinuousClock.now + .seconds(60)
        while Self.depth(families, kind: "redirect_reply", state: "pending") != 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            families = try Self.parse(url: url)
        }
        print("scraped \(families.count) families: \(families.map(\.name).sorted().joined(separator: ", "))")
        Self.expectWellFormed(families)
        #expect(Self.depth(families, kind: "redirect_reply", state: "pending") == 1)
        #expect(Self.depth(families, kind: "counsellor_reply", state: "held") == 0)
        let names = Set(families.map(\.name))
        for expected in [
            "mailbridge_smtp_messages_accepted", "mailbridge_inbound_processed", "mailbridge_inbound_processing_seconds",
            "mailbridge_threads_waiting", "mailbridge_outbound_queue_depth", "mailbridge_gateway_keys_expiring",
        ] {
            #expect(names.contains(expected), "\(expected) missing from \(names.sorted())")
        }
        let processed = families.first { $0.name == "mailbridge_inbound_processed" }?.samples ?? []
        #expect(processed.contains { $0.labels["outcome"] == "redirected" && $0.value == 1 })
    }
}
