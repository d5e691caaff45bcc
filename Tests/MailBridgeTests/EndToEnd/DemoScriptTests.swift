import Foundation
import TestSupport
import Testing

/// Issue 10: `scripts/demo --quick` runs the real `mailbridge serve --embedded` binary with swaks, gpg and an
/// aiosmtpd sink. Its output must show the redirect reply at the sink (MAIL FROM:<>, Auto-Submitted, the
/// platform link, no quoted content), the imported thread (pipeline log and `thread show`), and the counsellor
/// reply queued with `mailbridge reply` arriving encrypted at the sink and decrypted by gpg with the client's key;
/// the script must end cleanly.
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
        #expect(output.contains("reply decrypted by the client: yes"))
        // Every listener on a free port: the metrics endpoint answers on the demo's own port, not on 9465 (where a
        // quick-start gateway may run).
        let metricsLine = output.split(separator: "\n").first { $0.hasPrefix("metrics on 127.0.0.1:") }
        #expect(metricsLine?.hasSuffix(": yes") == true, "\(metricsLine ?? "no metrics line")")
        #expect(metricsLine?.contains(":9465:") == false)

        // Sections by step ("== N. …"). Decrypted content may appear only where the demo shows it on purpose:
        // `thread show` (step 6, the administrator on the server) and the client's own gpg output (step 8).
        let sections = Dictionary(uniqueKeysWithValues: output.components(separatedBy: "\n== ").dropFirst().compactMap {
            section -> (Int, String)? in Int(section.prefix { $0.isNumber }).map { ($0, section) }
        })
        let shown = sections[6] ?? ""
        let sink = sections[7] ?? ""
        let client = sections[8] ?? ""
        #expect(shown.contains("Hallo, ich moechte verschluesselt schreiben."), "thread show: \(shown)")
        #expect(sink.contains("queued the encrypted reply"))
        #expect(sink.contains("Content-Type: multipart/encrypted"))
        #expect(client.contains("Good signature"))
        #expect(client.contains("Subject: Re: Vertrauliche Frage"))
        #expect(client.contains("Guten Tag, danke fuer Ihre Nachricht. Wir antworten Ihnen verschluesselt."))
        // The plain mail's subject and content appear nowhere; the encrypted mail's content and the reply text
        // nowhere outside steps 6 and 8 (not at the sink in plain, not in the gateway log on standard error).
        for secret in ["Ich brauche Hilfe", "vertraulich und unverschluesselt"] {
            #expect(!output.contains(secret) && !result.stderr.contains(secret), "\(secret) leaked into the demo output")
        }
        let elsewhere = sections.filter { $0.key != 6 && $0.key != 8 }.map(\.value).joined() + result.stderr
        for secret in ["Vertrauliche Frage", "verschluesselt schreiben", "Wir antworten Ihnen verschluesselt"] {
            #expect(!elsewhere.contains(secret), "\(secret) appeared outside thread show and the client's gpg output")
        }
    }
}
