import Foundation
import Hummingbird
import MailBridge
import ServiceLifecycle
import TestSupport
import Testing
import ThreadStore

/// Every page at 360 CSS pixels, a small phone (issue 22), in headless Chromium: nothing reaches past the screen
/// (no sideways scrolling, no cut-off columns), the thread list becomes cards; the account enrols its second factor
/// on the way, so the enrolment page with its QR code is measured too. Screenshots are kept in
/// `.build/test-artifacts/narrow-*.png` like the other browser tests'.
@Suite struct NarrowScreenTests {
    @Test(.enabled(if: BrowserDriver.unavailableReason == nil,
                   "headless browser test needs Debian's chromium and python3-websockets"))
    func everyPageFitsA360PixelScreen() async throws {
        let harness = try await WebHarness(mustChangePassword: ["berater"])
        // A thread with a long unbroken line (a pasted link) and a reply, and a few more for the list.
        let link = "https://beratung.example.org/" + String(repeating: "sehr-langer-pfad-", count: 12)
        let thread = try await harness.importClientMail(inner: """
            Content-Type: text/plain; charset=utf-8
            Subject: Eine Frage mit einem sehr langen Betreff, der auf einem Telefon umbrechen muss

            Guten Tag, hier ist der Link: \(link)
            """)
        for _ in 0..<3 { _ = try await harness.importStoreThread(messages: 2) }
        let berater = harness.counsellor("berater")
        _ = try await harness.services.replies.queueReply(thread: thread, text: "Danke, wir melden uns.",
                                                          counsellor: nil, actor: berater.id, via: .browser)
        // No second factor yet: the browser enrols through the page with the QR code.
        let (server, port) = try await BrowserInboxTests.startServer(harness)
        defer { Task { await server.triggerGracefulShutdown() } }

        let artifacts = BrowserInboxTests.artifacts
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        func shot(_ name: String) -> URL {
            let url = artifacts.appendingPathComponent("narrow-\(name).png")
            try? FileManager.default.removeItem(at: url)
            return url
        }
        let shots = ["/login": shot("login"), "/login/totp/enrol": shot("enrol"),
                     "/account/password": shot("password")]
        let pages = [("/threads", shot("list")), ("/threads/\(thread.unredactedDescription)", shot("thread")),
                     ("/settings/notifications", shot("notifications"))]
        let work = harness.pipe.root
        let report = try await offCooperativePool {
            try BrowserDriver.captureNarrow(
                base: "http://127.0.0.1:\(port)", username: "berater", password: WebHarness.password,
                totpSecret: nil, newPassword: "Ein-neues-Passwort-\(UUID().uuidString)",
                width: 360, shots: shots, pages: pages.map { (path: $0.0, screenshot: $0.1) }, workDirectory: work)
        }
        await server.triggerGracefulShutdown()

        #expect(report.steps.contains("second factor enrolled"))
        #expect(report.narrow.map(\.path) == ["/login", "/login/totp/enrol", "/account/password"] + pages.map(\.0))
        for page in report.narrow {
            #expect(page.viewport == 360, "\(page.path)")
            #expect(page.scrollWidth <= page.viewport, "\(page.path) scrolls sideways: \(page.scrollWidth) px")
            #expect(page.overflowing.isEmpty, "\(page.path): \(page.overflowing)")
        }
        let list = try #require(report.narrow.first { $0.path == "/threads" })
        #expect(list.listRowDisplay == "block" && !list.listHeaderShown, "the list is cards")
        // Each card labels its values: the cell's generated text, from its data-label.
        #expect(list.cardLabel == "\"Beratungsfeld: \"" && list.cardLabelText == "Beratungsfeld",
                "\(list.cardLabel) \(list.cardLabelText)")
        let page = try #require(report.narrow.first { $0.path.hasPrefix("/threads/") })
        #expect(page.text.contains("sehr-langer-pfad-") && page.text.contains("Gesendet"))
        #expect(report.problems.isEmpty, "browser console: \(report.problems)")  // e.g. CSP violations
        for url in shots.values + pages.map(\.1) {
            let png = try Data(contentsOf: url)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 5_000, "\(url.lastPathComponent)")
        }
        await harness.pipe.close()
    }

    /// The cards are for phones only: at 1280 px the list is the table with its column headers.
    @Test(.enabled(if: BrowserDriver.unavailableReason == nil,
                   "headless browser test needs Debian's chromium and python3-websockets"))
    func aWideScreenKeepsTheTable() async throws {
        let harness = try await WebHarness()
        for _ in 0..<2 { _ = try await harness.importStoreThread(messages: 1) }
        let (server, port) = try await BrowserInboxTests.startServer(harness)
        defer { Task { await server.triggerGracefulShutdown() } }
        let shot = BrowserInboxTests.artifacts.appendingPathComponent("wide-list.png")
        try FileManager.default.createDirectory(at: BrowserInboxTests.artifacts, withIntermediateDirectories: true)
        let work = harness.pipe.root
        let report = try await offCooperativePool {
            try BrowserDriver.captureNarrow(
                base: "http://127.0.0.1:\(port)", username: "berater", password: WebHarness.password,
                totpSecret: nil, newPassword: nil, width: 1280, shots: [:],
                pages: [(path: "/threads", screenshot: shot)], workDirectory: work)
        }
        await server.triggerGracefulShutdown()
        let list = try #require(report.narrow.first)
        #expect(list.listHeaderShown && list.listRowDisplay == "table-row", "\(list.listRowDisplay)")
        #expect(list.scrollWidth <= list.viewport && list.overflowing.isEmpty, "\(list.overflowing)")
        #expect(report.problems.isEmpty, "browser console: \(report.problems)")
        await harness.pipe.close()
    }
}
