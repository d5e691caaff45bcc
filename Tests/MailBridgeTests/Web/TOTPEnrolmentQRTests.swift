import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing
import ThreadStore

@testable import MailBridge

/// The TOTP enrolment page's QR code (issue 22): drawn on the server as inline SVG (libqrencode), no script, the
/// CSP unchanged; a real decoder (zbar's `zbarimg` on a PNG rasterised by librsvg's `rsvg-convert`) reads the very
/// `otpauth://` URI the page shows. The page also groups the secret and says what to do when the device is lost.
@Suite struct TOTPEnrolmentQRTests {
    static var toolsMissing: String? {
        for tool in ["rsvg-convert", "zbarimg"] where Shell.which(tool) == nil {
            return "\(tool) is not installed (apt-get install librsvg2-bin zbar-tools)"
        }
        return nil
    }

    /// The text zbar reads from `svg`, rasterised at 400 px on white.
    static func decode(_ svg: String, in directory: URL) throws -> String {
        let source = directory.appendingPathComponent("qr-\(UUID().uuidString).svg")
        let png = source.deletingPathExtension().appendingPathExtension("png")
        defer {
            try? FileManager.default.removeItem(at: source)
            try? FileManager.default.removeItem(at: png)
        }
        try Data(svg.utf8).write(to: source)
        _ = try Shell.run("rsvg-convert", ["--width", "400", "--background-color", "white", "--output", png.path,
                                           source.path])
        let result = try Shell.run("zbarimg", ["--quiet", "--raw", "-Sbinary", png.path])
        return String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    @Test(.enabled(if: toolsMissing == nil, "needs rsvg-convert and zbarimg"),
          arguments: ["otpauth://totp/MailBridge:anna?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=MailBridge",
                      "x", String(repeating: "Ä&<\"'", count: 60)])
    func theSVGDecodesToItsText(text: String) throws {
        let svg = try #require(QRCodeSVG.svg(text, title: "T <&>")).description
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.hasSuffix("</svg>"))
        #expect(!svg.contains("<script") && !svg.contains("style=") && !svg.contains("href"))
        #expect(svg.contains("<title id=\"qr-title\">T &lt;&amp;&gt;</title>"))
        let directory = FileManager.default.temporaryDirectory
        #expect(try Self.decode(svg, in: directory) == text)
    }

    @Test func tooLongOrEmptyTextGivesNoCode() {
        #expect(QRCodeSVG.svg("", title: "t") == nil)
        #expect(QRCodeSVG.svg(String(repeating: "a", count: QRCodeSVG.maximumTextBytes + 1), title: "t") == nil)
        #expect(QRCodeSVG.modules(String(repeating: "a", count: QRCodeSVG.maximumTextBytes))?.width ?? 0 > 21)
    }

    @Test(.enabled(if: toolsMissing == nil, "needs rsvg-convert and zbarimg"))
    func theEnrolmentPageShowsAScannableCodeOfItsOwnSetupLink() async throws {
        let harness = try WebAuthHarness()
        _ = try await harness.createAccount()
        try await harness.application().test(.router) { client in
            let browser = Browser(client)
            let login = try await browser.login()
            #expect(login.headers[.location] == "/login/totp/enrol?lang=de")
            let page = try await browser.get("/login/totp/enrol")
            let html = String(buffer: page.body)
            #expect(page.status == .ok)
            // The CSP is the login pages' strict one; the page holds no script and no inline style.
            #expect(page.headers[.contentSecurityPolicy] == "default-src 'none'; style-src 'self'; "
                    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
            #expect(!html.contains("<script") && !html.contains("style="))
            let start = try #require(html.range(of: "<svg "))
            let end = try #require(html.range(of: "</svg>", range: start.upperBound..<html.endIndex))
            let svg = String(html[start.lowerBound..<end.upperBound])
            let uriStart = try #require(html.range(of: "<code id=\"totp-uri\">")).upperBound
            let shownURI = String(html[uriStart...].prefix { $0 != "<" }).replacingOccurrences(of: "&amp;", with: "&")
            #expect(shownURI.hasPrefix("otpauth://totp/MailBridge:anna?secret="))
            #expect(try Self.decode(svg, in: harness.root) == shownURI)
            // The secret in groups of four, and who resets a lost device.
            let secretStart = try #require(html.range(of: "<code id=\"totp-secret\">")).upperBound
            let groups = html[secretStart...].prefix { $0 != "<" }.split(separator: " ")
            #expect(groups.count > 4 && groups.dropLast().allSatisfy { $0.count == 4 })
            #expect(html.contains("<h2>Gerät verloren oder gewechselt?</h2>")
                    && html.contains("Die Administration setzt ihn zurück (mailbridge users reset"))
            let english = String(buffer: try await browser.get("/login/totp/enrol?lang=en").body)
            #expect(english.contains("Device lost or replaced?") && english.contains("Scan this QR code"))
        }
    }
}
