import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import NIOCore
import PGPShim
import ServiceLifecycle
import TestSupport
import Testing
import ThreadStore

/// Issue 17 in the web inbox and the API: a thread without key says so, held replies never look sent, and
/// confirming a key change in the inbox releases the replies held for the client's earlier key.
@Suite struct HeldReplyWebTests {
    static func canary() -> String { "CANARY\(UUID().uuidString.prefix(8))" }

    @Test func aThreadWithoutKeyShowsNoKeyAndItsRepliesAsHeld() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let pipe = harness.pipe
        // Signed with a key the gateway does not have, nothing attached (the gpg command line, Mailvelope, GpgOL).
        let raw = try await offCooperativePool { () throws -> String in
            let key = try pipe.client.makeKey(WebHarness.clientAddress)
            let ciphertext = try pipe.client.gpg(
                ["--armor", "--sign", "--local-user", key.hex, "--encrypt", "--recipient", pipe.gateway.hex],
                stdin: Array("Content-Type: text/plain\r\n\r\nFrage \(canary)\r\n".utf8)).stdout
            return try pipe.pgpMIMEMail(from: WebHarness.clientAddress, ciphertext: ciphertext,
                                        messageID: "<nokey-\(UUID().uuidString.prefix(6))@example.net>")
        }
        let outcome = try await pipe.pipeline.accept(try pipe.spool(raw, from: WebHarness.clientAddress))
        guard case .imported(let thread, _) = outcome else { Issue.record("not imported: \(outcome)"); return }
        let id = thread.unredactedDescription
        try await harness.test { client in
            let page = try await client.execute(uri: "/threads/\(id)", method: .get,
                                                headers: harness.browser("berater"))
            #expect(page.text.contains("<span class=\"badge badge-held\">Noch kein Schlüssel zum Antworten</span>"))
            #expect(page.text.contains("nicht prüfbar"))
            #expect(page.text.contains("Ihre Antwort (wird zurückgehalten, bis ein nutzbarer Schlüssel da ist)"))
            #expect(page.text.contains("Für diese Anfrage liegt kein Schlüssel der Klient*in vor."))
            #expect(!page.text.contains("Ihre Antwort (wird verschlüsselt gesendet)"))

            let posted = try await client.execute(uri: "/threads/\(id)/reply", method: .post,
                                                  headers: harness.browser("berater", form: true),
                                                  body: harness.form("berater", ["text": "Antwort \(canary)-reply"]))
            #expect(posted.headers[.location] == "/threads/\(id)?notice=reply-key-missing")
            let after = try await client.execute(uri: "/threads/\(id)", method: .get,
                                                 headers: harness.browser("berater"))
            #expect(after.text.contains("<li class=\"message outbound held\""))
            #expect(after.text.contains("Zurückgehalten: wartet auf einen nutzbaren Schlüssel der Klient*in"))

            let api = try await client.execute(uri: "/api/v1/threads/\(id)", method: .get,
                                               headers: harness.api("fremd"))
            #expect(api.status == .notFound)  // another field: still not found
            let json = try await client.execute(uri: "/api/v1/threads/\(id)", method: .get,
                                                headers: harness.api("berater"))
            #expect(json.text.contains(#""clientKeyFingerprint":null"#))
            #expect(json.text.contains(#""awaitingClientKey":true"#))
            #expect(json.text.contains(#""held":true"#))
            #expect(json.text.contains(#""signature":"unknown_key""#))
        }
        // Only content-free notices left: the team notice, the key request, the reply-waiting notice.
        let queued = try await pipe.outbox()
        #expect(queued.allSatisfy { $0.kind == .notification && !$0.payload.text.contains(canary) })
        #expect(queued.count == 3)
        for line in pipe.logs.all { #expect(!line.contains(canary), "canary in a log line") }
        await pipe.close()
    }

    @Test func confirmingAKeyChangeInTheInboxReleasesTheHeldReply() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let pipe = harness.pipe
        let old = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nFrage \(canary)\n")
        // The gateway no longer has the client's key: the reply is held.
        let oldKey = try #require(harness.clientKey)
        let gatewayHome = pipe.root.appendingPathComponent("gw").path
        try await offCooperativePool {
            try Shell.run("gpg", ["--homedir", gatewayHome, "--batch", "--yes", "--delete-keys", oldKey.hex])
        }
        let reply = try await harness.services.replies.queueReply(thread: old, text: "Antwort \(canary)-reply",
                                                                  counsellor: nil)
        guard case .keyUnusable(.missing, _, _) = reply else { Issue.record("not held: \(reply)"); return }
        // The client writes with a new key: a new thread, a key change to confirm.
        let new = try await harness.importClientMail(inner: "Content-Type: text/plain\n\nNeu\n", newKey: true)
        let newKey = try #require(harness.clientKey)
        #expect(new != old && newKey != oldKey)
        #expect(try await pipe.outbox().allSatisfy { $0.kind != .counsellorReply })
        try await harness.test { client in
            let confirm = try await client.execute(uri: "/threads/\(new.unredactedDescription)/key-change",
                                                   method: .post, headers: harness.browser("berater", form: true),
                                                   body: harness.form("berater", [:]))
            #expect(confirm.headers[.location] == "/threads/\(new.unredactedDescription)?notice=key-change-confirmed")
            let page = try await client.execute(uri: "/threads/\(old.unredactedDescription)", method: .get,
                                                headers: harness.browser("berater"))
            #expect(!page.text.contains("badge-held"))
        }
        let replies = try await pipe.outbox().filter { $0.kind == .counsellorReply }
        #expect(replies.count == 1)
        let mail = try #require(replies.first).payload.text
        #expect(!mail.contains(canary))
        let start = try #require(mail.range(of: "-----BEGIN PGP MESSAGE-----"))
        let end = try #require(mail.range(of: "-----END PGP MESSAGE-----"))
        let armored = Array(String(mail[start.lowerBound..<end.upperBound])
            .replacingOccurrences(of: "\r\n", with: "\n").utf8)
        let decrypted = try await offCooperativePool { try pipe.client.gpg(["--decrypt"], stdin: armored).stdout.text }
        #expect(decrypted.contains("\(canary)-reply"))
        for line in pipe.logs.all { #expect(!line.contains(canary), "canary in a log line") }
        await pipe.close()
    }

    /// The held reply in headless Chromium: marked held in its header, no console problems (CSP), screenshot kept
    /// in `.build/test-artifacts/held-reply.png`.
    @Test(.enabled(if: BrowserDriver.unavailableReason == nil,
                   "headless browser test needs Debian's chromium and python3-websockets"))
    func heldReplyInChromium() async throws {
        let harness = try await WebHarness()
        let canary = Self.canary()
        let thread = try await harness.importClientMail(
            inner: "Content-Type: text/plain; charset=utf-8\nSubject: Hilfe\n\nGuten Tag, \(canary)\n")
        let key = try #require(harness.clientKey)
        let gatewayHome = harness.pipe.root.appendingPathComponent("gw").path
        try await offCooperativePool {
            try Shell.run("gpg", ["--homedir", gatewayHome, "--batch", "--yes", "--delete-keys", key.hex])
        }
        _ = try await harness.services.replies.queueReply(thread: thread, text: "Antwort, die wartet", counsellor: nil)
        let secret = TOTPAuthenticator.generateSecret()
        let account = harness.counsellor("berater").id
        try await harness.store.write { tx in
            try tx.enrolSecondFactor(secret: secret, acceptedStep: TOTPAuthenticator.step(at: Date()) - 5, for: account)
        }
        let (server, port) = try await BrowserInboxTests.startServer(harness)
        defer { Task { await server.triggerGracefulShutdown() } }
        let artifacts = BrowserInboxTests.artifacts
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let shot = artifacts.appendingPathComponent("held-reply.png")
        try? FileManager.default.removeItem(at: shot)
        let work = harness.pipe.root
        let report = try await offCooperativePool {
            try BrowserDriver.screenshotMessages(
                base: "http://127.0.0.1:\(port)", username: "berater", password: WebHarness.password,
                totpSecret: TOTPAuthenticator.base32(secret),
                pages: [(thread: thread.unredactedDescription, subject: "Re: Hilfe", screenshot: shot)],
                workDirectory: work)
        }
        await server.triggerGracefulShutdown()
        #expect(report.problems.isEmpty, "browser console: \(report.problems)")
        let page = try #require(report.pages.first)
        #expect(page.messageText.contains("Zurückgehalten: wartet auf einen nutzbaren Schlüssel der Klient*in"),
                "\(page.messageText)")
        #expect(page.messageText.contains("Antwort, die wartet"))
        let png = try Data(contentsOf: shot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 5_000)
        await harness.pipe.close()
    }
}
