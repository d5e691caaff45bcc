import Foundation
import MailBridge
import ServiceLifecycle
import TestSupport
import Testing
import ThreadStore

/// Issue 27: the thread page in headless Chromium with a koi8-r, an Arabic (windows-1256, right to left) and an
/// HTML-only message, each signed and encrypted by the client and imported end to end (one client, so one
/// thread). A screenshot per message is kept in `.build/test-artifacts/` (`charset-koi8-r.png`,
/// `charset-windows-1256.png`, `charset-html-only.png`); the assertions read the DOM: the decoded text and
/// subject are there, the HTML's text has no markup left, and the Arabic text block's direction (from
/// `dir="auto"`) is right to left while the others stay left to right.
@Suite struct BrowserCharsetTests {
    static let russian = "Здравствуйте! Мне нужна помощь с документами, Юлия."
    static let arabic = "مرحبا، أحتاج إلى مساعدة بخصوص الإقامة والعمل."
    static let arabicSubject = "طلب مساعدة"
    static let russianSubject = "Помощь"
    static let htmlSubject = "Nur HTML"

    /// `text` in `charset`, base64 (RFC 2045 §6.8), converted by Python's codecs (independent of ours).
    static func base64(_ text: String, charset: String) throws -> String {
        let script = "import sys, base64; sys.stdout.write(base64.encodebytes("
            + "sys.stdin.buffer.read().decode('utf-8').encode('\(charset)')).decode())"
        return String(decoding: try PythonMail.run(script, input: Array(text.utf8)), as: UTF8.self)
    }

    /// An RFC 2047 encoded word of `text` in `charset`.
    static func encodedWord(_ text: String, charset: String) throws -> String {
        let encoded = try base64(text, charset: charset).replacingOccurrences(of: "\n", with: "")
        return "=?\(charset)?B?\(encoded)?="
    }

    @Test(.enabled(if: BrowserDriver.unavailableReason == nil,
                   "headless browser test needs Debian's chromium and python3-websockets"))
    func koi8rArabicAndHTMLOnlyReadInChromium() async throws {
        let harness = try await WebHarness()
        let canary = InboxPageTests.canary()
        let koi8r = try await harness.importClientMail(inner: """
            Content-Type: text/plain; charset=koi8-r
            Content-Transfer-Encoding: base64
            Subject: \(try Self.encodedWord(Self.russianSubject, charset: "koi8-r"))

            \(try Self.base64(Self.russian + "\n" + canary + "\n", charset: "koi8-r"))
            """)
        let arabic = try await harness.importClientMail(inner: """
            Content-Type: text/plain; charset=windows-1256
            Content-Transfer-Encoding: base64
            Subject: \(try Self.encodedWord(Self.arabicSubject, charset: "windows-1256"))

            \(try Self.base64(Self.arabic + "\n" + Self.arabic + "\n", charset: "windows-1256"))
            """)
        let html = try await harness.importClientMail(inner: """
            Content-Type: text/html; charset=utf-8
            Subject: \(Self.htmlSubject)

            <html><head><style>p { color: red }</style><script>alert("skript")</script></head>
            <body><p>Guten Tag,</p><p>ich habe <b>zwei Fragen</b>:</p>
            <ul><li>Wohngeld</li><li>Kita-Platz</li></ul>
            <p>Mehr unter <a href="https://example.org/info">dieser Seite</a>.<br>Danke! \(canary)</p></body></html>
            """)

        let secret = TOTPAuthenticator.generateSecret()
        let account = harness.counsellor("berater").id
        try await harness.store.write { tx in
            try tx.enrolSecondFactor(secret: secret, acceptedStep: TOTPAuthenticator.step(at: Date()) - 5, for: account)
        }
        let (server, port) = try await BrowserInboxTests.startServer(harness)
        defer { Task { await server.triggerGracefulShutdown() } }

        let artifacts = BrowserInboxTests.artifacts
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let shots = ["charset-koi8-r.png", "charset-windows-1256.png", "charset-html-only.png"].map {
            artifacts.appendingPathComponent($0)
        }
        for shot in shots { try? FileManager.default.removeItem(at: shot) }
        let threads = [koi8r, arabic, html].map(\.unredactedDescription)
        let subjects = [Self.russianSubject, Self.arabicSubject, Self.htmlSubject]
        let pages = (0..<3).map { (thread: threads[$0], subject: subjects[$0], screenshot: shots[$0]) }
        let work = harness.pipe.root
        let report = try await offCooperativePool {
            try BrowserDriver.screenshotMessages(
                base: "http://127.0.0.1:\(port)", username: "berater", password: WebHarness.password,
                totpSecret: TOTPAuthenticator.base32(secret), pages: pages, workDirectory: work)
        }
        await server.triggerGracefulShutdown()

        #expect(report.steps == ["login page", "second factor", "logged in", "screenshot", "screenshot", "screenshot"])
        #expect(report.problems.isEmpty, "browser console: \(report.problems)")
        try #require(report.pages.count == 3)
        #expect(report.pages.map(\.path) == threads.map { "/threads/\($0)" })

        // koi8-r: Cyrillic decoded, subject decoded, left to right.
        let russian = report.pages[0]
        #expect(russian.blocks.contains { $0.text.contains(Self.russian) && $0.text.contains(canary) })
        #expect(russian.blocks.count == 1)
        #expect(!russian.messageText.contains("=?koi8-r?") && !russian.messageText.contains("\u{FFFD}"))
        #expect(russian.blocks.allSatisfy { $0.dir == "auto" && !$0.rtl && $0.computedDirection == "ltr" },
                "\(russian.blocks.map { ($0.text.prefix(40), $0.dir, $0.rtl, $0.computedDirection) })")

        // windows-1256: Arabic decoded, and its block reads right to left.
        let arabicPage = report.pages[1]
        let arabicBlock = arabicPage.blocks.first { $0.text.contains(Self.arabic) }
        #expect(arabicBlock != nil, "Arabic text not on the page: \(arabicPage.blocks.map(\.text))")
        #expect(arabicBlock?.dir == "auto")
        #expect(arabicBlock?.rtl == true)
        #expect(arabicBlock?.computedDirection == "rtl")
        #expect(arabicPage.blocks.count == 1)
        #expect(!arabicPage.messageText.contains("=?windows-1256?") && !arabicPage.messageText.contains("\u{FFFD}"))

        // HTML only: the text, converted on the server, without markup, style or script; links written out.
        let htmlPage = report.pages[2]
        let htmlText = htmlPage.blocks.map(\.text).joined(separator: "\n")
        for expected in ["Guten Tag,", "zwei Fragen", "Wohngeld", "Kita-Platz", "https://example.org/info", canary] {
            #expect(htmlText.contains(expected), "\(expected) missing from \(htmlText.debugDescription)")
        }
        for markup in ["<p>", "<b>", "<li>", "<a ", "alert(", "color: red", "<html"] {
            #expect(!htmlText.contains(markup), "\(markup) shown in \(htmlText.debugDescription)")
        }
        #expect(htmlPage.blocks.allSatisfy { !$0.rtl }, "\(htmlPage.blocks.map { ($0.text.prefix(40), $0.rtl) })")

        for shot in shots {
            let png = try Data(contentsOf: shot)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && png.count > 10_000)
        }
        await harness.pipe.close()
    }
}
