import Foundation
import Logging
import MailBridge
import Synchronization
import Testing

/// The core promise for logs: connection and queue IDs, sizes and reply codes, never addresses, subjects or
/// content, even at trace level and even for refused input.
struct LogRedactionTests {
    final class RecordingLogHandler: LogHandler, Sendable {
        let lines = Mutex<[String]>([])
        var metadata: Logger.Metadata {
            get { [:] }
            set {}
        }
        var logLevel: Logger.Level {
            get { .trace }
            set {}
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { nil }
            set {}
        }
        func log(event: LogEvent) {
            let metadata = (event.metadata ?? [:]).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.withLock { $0.append("\(event.level) \(event.message) \(metadata)") }
        }
    }

    @Test func logsCarryNoAddressesSubjectsOrContent() async throws {
        let handler = RecordingLogHandler()
        let server = try await SMTPTestServer(logger: Logger(label: "smtp", factory: { _ in handler }))
        var client = try await RawSMTPClient.connect(port: server.port)
        _ = try await client.readReply()
        #expect(try await client.command("EHLO secret-helo.example") == 250)
        #expect(try await client.command("MAIL FROM:<secret.sender@example.net> X-SECRET=1") == 555)
        #expect(try await client.command("MAIL FROM:<secret.sender@example.net>") == 250)
        #expect(try await client.command("RCPT TO:<hidden.person@elsewhere.example>") == 550)
        #expect(try await client.command("RCPT TO:<beratung@example.org>") == 250)
        #expect(try await client.command("DATA") == 354)
        try await client.send("Subject: Secret subject\r\n\r\nsecret body text\r\n.\r\n")
        #expect(try await client.readReply()?.code == 250)
        #expect(try await client.command("DATA") == 503)
        try await client.send("MAIL FROM:<secret.sender@example.net>\rRCPT\r\n")
        #expect(try await client.readReply()?.code == 500)
        #expect(try await client.command("QUIT") == 221)
        try await server.stop()

        let lines = handler.lines.withLock { $0 }
        #expect(lines.contains { $0.contains("message accepted") && $0.contains("smtp.queue_id=") })
        for needle in ["secret", "hidden", "beratung", "Subject", "body text", "example.net", "example.org"] {
            #expect(!lines.contains { $0.localizedCaseInsensitiveContains(needle) }, "log leaks \(needle)")
        }
    }
}
