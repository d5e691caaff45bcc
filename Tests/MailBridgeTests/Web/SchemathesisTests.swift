import Foundation
import HTTPTypes
import HummingbirdTesting
import MailBridge
import ServiceLifecycle
import TestSupport
import Testing
import ThreadStore

/// Issue 25, item 4: schemathesis (PyPI, pinned by `scripts/install-deps --test` into its own virtual environment)
/// generates requests from the served OpenAPI document against the gateway's real `WebServer` over loopback, with
/// an API token, for a bounded time: no 5xx, and every response conforms to the document (status codes, content
/// types, headers, JSON schemas). A thread of real encrypted mail is in the store so that list responses have
/// content to conform.
@Suite(.serialized) struct SchemathesisTests {
    static var executable: String {
        (ProcessInfo.processInfo.environment["MAILBRIDGE_TEST_VENV"] ?? "/opt/mailbridge-test-venv") + "/bin/st"
    }

    /// Seconds schemathesis may spend (MAILBRIDGE_SCHEMATHESIS_SECONDS, default 45).
    static var budget: Int { Int(ProcessInfo.processInfo.environment["MAILBRIDGE_SCHEMATHESIS_SECONDS"] ?? "") ?? 45 }

    /// Every check of schemathesis (no 5xx; status codes, content types, headers and bodies as documented; 401
    /// without a token; 405 with `Allow` for undocumented methods; invalid data refused; …) except one:
    /// `positive_data_acceptance` sends `before` and `after` together, which OpenAPI cannot mark as exclusive and
    /// the API answers with a documented 400 (MAILBRIDGE_SCHEMATHESIS_CHECKS overrides, e.g. `all`, to explore).
    static let excludedChecks = "positive_data_acceptance"

    @Test func generatedRequestsGetNoServerErrorAndConformToTheDocument() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable),
                     "schemathesis is missing: run scripts/install-deps --test")
        // Generated requests send wrong tokens on purpose (the unauthenticated cases); the token limit would
        // soon answer everything with 429 (documented, but it would hide every other response).
        let harness = try await WebHarness { auth in auth.rateLimit.maximumFailures = 1_000_000 }
        _ = try await harness.importClientMail(inner: """
            Content-Type: multipart/mixed; boundary="b"; protected-headers="v1"
            Subject: Frage

            --b
            Content-Type: text/plain; charset=utf-8

            Hallo
            --b
            Content-Type: application/pdf
            Content-Disposition: attachment; filename="a.pdf"

            eA==
            --b--
            """)
        let (group, port) = try await BrowserInboxTests.startServer(harness)
        defer { Task { await group.triggerGracefulShutdown() } }
        let token = try #require(harness.api("berater")[.authorization])
        let reports = harness.pipe.root.appendingPathComponent("schemathesis")
        let arguments = [
            "run", "http://127.0.0.1:\(port)/api/v1/openapi.json",
            "--header", "Authorization: \(token)",
            "--max-time", "\(Self.budget)", "--workers", "1", "--seed", "25",
            "--request-timeout", "10", "--no-color", "--generation-database", "none",
            "--report", "junit", "--report-junit-path", reports.appendingPathComponent("junit.xml").path,
        ] + (ProcessInfo.processInfo.environment["MAILBRIDGE_SCHEMATHESIS_CHECKS"].map { ["--checks", $0] }
            ?? ["--checks", "all", "--exclude-checks", Self.excludedChecks])
        let started = ContinuousClock.now
        // Run inside the reports folder: schemathesis keeps a replay cache (`.schemathesis/`) in its working folder.
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        let run = try await offCooperativePool {
            try Shell.run("env", ["-C", reports.path, Self.executable] + arguments, environment: ["NO_COLOR": "1"],
                          allowFailure: true)
        }
        let output = run.stdout.text
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 0, "schemathesis found problems:\n\(output.suffix(6_000))\n\(run.stderr.suffix(2_000))")
        #expect(elapsed < .seconds(Self.budget + 60), "took \(elapsed)")
        // The run must have tested the operations, not stopped at the document.
        let junit = (try? String(contentsOf: reports.appendingPathComponent("junit.xml"), encoding: .utf8)) ?? ""
        #expect(junit.components(separatedBy: "<testcase").count - 1 >= 6,
                "too few operations tested:\n\(junit)\n\(output.suffix(4_000))\n\(run.stderr.suffix(2_000))")
        #expect(!output.contains("500 Internal Server Error"))
        // "Test cases: N generated, N passed[, K skipped]": at least a few hundred in the budget, all passed.
        let counts = output.components(separatedBy: "Test cases:").last?.split(separator: "\n").first ?? ""
        let numbers = counts.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.count >= 2 && numbers[0] >= 200 && numbers[0] == numbers[1] && !counts.contains("fail")
                    && !counts.contains("error"), "\(counts)")
    }
}

/// Issue 25, item 4: empty cursor parameters are accepted as absent (they answered 400 before).
@Suite struct EmptyCursorTests {
    @Test func emptyCursorsAreTheFirstAndTheNewestPage() async throws {
        let harness = try await WebHarness()
        let thread = try await harness.importStoreThread(messages: 3).unredactedDescription
        try await harness.test { client in
            for uri in ["/api/v1/threads?cursor=", "/api/v1/threads/\(thread)?before=",
                        "/api/v1/threads/\(thread)?after=", "/api/v1/threads/\(thread)?before=&after="] {
                let response = try await client.execute(uri: uri, method: .get, headers: harness.api("berater"))
                #expect(response.status == .ok, "\(uri)")
            }
            let page = try APITests.json(try await client.execute(uri: "/api/v1/threads/\(thread)?before=",
                                                                 method: .get, headers: harness.api("berater")))
            #expect((page["messages"] as? [Any])?.count == 3)
            // A malformed cursor is still refused.
            let bad = try await client.execute(uri: "/api/v1/threads?cursor=zz", method: .get,
                                               headers: harness.api("berater"))
            #expect(bad.status == .badRequest)
        }
        await harness.pipe.close()
    }
}
