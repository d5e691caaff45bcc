import Foundation
import Hummingbird
import Logging
import MailBridge
import NIOCore
import ServiceLifecycle
import TestSupport
import Testing
import ThreadStore

/// The real UI in headless Chromium: the gateway's `WebServer` (`WebRouter.make`: real login with password and
/// TOTP, sessions, CSRF) on a loopback port, a browser that logs in, replaces the password an administrator set,
/// opens the thread from the list, reads it and answers through the reply form. The screenshot is kept as a test
/// artifact in `.build/test-artifacts/`.
@Suite struct BrowserInboxTests {
    static let artifacts = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/test-artifacts")

    @Test(.enabled(if: BrowserDriver.unavailableReason == nil,
                   "headless browser test needs Debian's chromium and python3-websockets"))
    func loginOpenThreadAndReplyInChromium() async throws {
        let harness = try await WebHarness(mustChangePassword: ["berater"])
        let ownPassword = "Mein-eigenes-Passwort-\(UUID().uuidString.prefix(6))"
        let canary = InboxPageTests.canary()
        let thread = try await harness.importClientMail(
            inner: "Content-Type: text/plain; charset=utf-8\nSubject: Hilfe\n\nGuten Tag, ich brauche Rat. \(canary)\n")
        let replyText = "Danke für Ihre Nachricht. Antwort aus dem Browser \(UUID().uuidString.prefix(8))"

        // The account logs in with password and second factor, as in production.
        let secret = TOTPAuthenticator.generateSecret()
        let account = harness.counsellor("berater").id
        try await harness.store.write { tx in
            try tx.enrolSecondFactor(secret: secret, acceptedStep: TOTPAuthenticator.step(at: Date()) - 5, for: account)
        }
        let (server, port) = try await Self.startServer(harness)
        defer { Task { await server.triggerGracefulShutdown() } }

        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let screenshot = Self.artifacts.appendingPathComponent("inbox-reply.png")
        try? FileManager.default.removeItem(at: screenshot)
        let work = harness.pipe.root
        let report = try await offCooperativePool {
            try BrowserDriver.loginOpenThreadAndReply(
                base: "http://127.0.0.1:\(port)", username: "berater", password: WebHarness.password,
                totpSecret: TOTPAuthenticator.base32(secret),
                threadID: thread.unredactedDescription, expectedText: canary, reply: replyText,
                screenshot: screenshot, workDirectory: work, newPassword: ownPassword)
        }
        await server.triggerGracefulShutdown()

        #expect(report.steps == ["login page", "second factor", "logged in", "password changed", "thread opened",
                                 "reply sent", "screenshot"])
        #expect(report.urls.contains("/account/password") && report.urls.contains("/threads?notice=password-changed"))
        #expect(report.threadText.contains("ich brauche Rat. \(canary)"))
        #expect(report.notice.contains("Die Antwort wurde verschlüsselt in den Versand gegeben."))
        #expect(report.replyShown)
        #expect(report.urls.last == "/threads/\(thread.unredactedDescription)?notice=reply-queued")
        #expect(report.problems.isEmpty, "browser console: \(report.problems)")  // e.g. CSP violations
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && png.count > 10_000)

        // The reply landed in the outbox, encrypted, in this thread.
        let replies = try await harness.pipe.outbox().filter { $0.kind == .counsellorReply }
        #expect(replies.count == 1 && replies.first?.thread == thread)
        #expect(replies.first.map { String(decoding: $0.payload, as: UTF8.self).contains("multipart/encrypted") } == true)
        let audit = try await harness.store.read { try $0.auditEntries() }.filter { $0.actor == account }
        #expect(audit.map(\.event).contains(.loginSucceeded) && audit.map(\.event).contains(.passwordChanged))
        let stored = try await harness.store.read { tx in try tx.loginCredentials(username: "berater") }
        #expect(try await PasswordHasher(cost: 4).verify(ownPassword, against: stored?.passwordHash))
        #expect(stored?.account.mustChangePassword == false)
        #expect(audit.filter { $0.thread == thread }.map(\.event)
                == [.threadViewed, .threadStateChanged, .replyQueued, .threadAssigned, .threadViewed])
        await harness.pipe.close()
    }

    /// The gateway's `WebServer` (HTTP/1 limits, `WebRouter.make`) on 127.0.0.1 with a free port, in a service
    /// group; returns the group and the port.
    static func startServer(_ harness: WebHarness) async throws -> (ServiceGroup, Int) {
        var configuration = BridgeConfiguration.Web()
        configuration.listen = "127.0.0.1"
        configuration.port = 0
        let server = try WebServer(configuration: configuration, services: harness.services,
                                   logger: harness.pipe.logs.logger("web-server"))
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: harness.pipe.logs.logger("group"))
        Task { try await group.run() }
        guard let port = await server.localAddress().port, port > 0 else {
            throw BrowserDriver.Failure(text: "server did not start")
        }
        return (group, port)
    }
}
