import Foundation
import TestSupport
import Testing

/// Issue 10: `scripts/demo --quick` runs the real `mailbridge serve --embedded` binary with swaks, gpg and an
/// aiosmtpd sink. Its output must show the redirect reply at the sink (MAIL FROM:<>, Auto-Submitted, the
/// platform link, no quoted content) and the imported thread, and the script must end cleanly.
@Suite struct DemoScriptTests {
    @Test func quickDemoShowsRedirectAndImportedThread() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/mailbridge")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the mailbridge product first")
        let result = try Shell.run(root.appendingPathComponent("scripts/demo").path, ["--quick"],
                                   environment: ["MAILBRIDGE_BIN": binary.path], allowFailure: true)
        let output = result.stdout.text
        #expect(result.status == 0, "demo failed: \(output)\n\(result.stderr)")
        #expect(output.contains("demo: OK"))
        #expect(!output.contains("ignored SIGTERM"), "the gateway or the sink did not stop on SIGTERM")
        #expect(output.contains("X-Sink-Mail-From: <>"))
        #expect(output.contains("X-Sink-Rcpt-To: klient@example.net"))
        #expect(output.contains("Auto-Submitted: auto-replied"))
        #expect(output.contains("link: https://beratung.example/login"))
        #expect(output.contains("outcome=imported(<thread>, new thread: true)"))
        #expect(output.contains("thread imported: yes"))
        // The plain mail's subject and the encrypted mail's content appear nowhere in what the demo saw.
        for secret in ["Ich brauche Hilfe", "vertraulich und unverschluesselt", "Vertrauliche Frage", "verschluesselt schreiben"] {
            #expect(!output.contains(secret), "\(secret) leaked into the demo output")
        }
    }
}
