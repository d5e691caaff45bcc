import Foundation
import Logging
import MailBridge
import TestSupport
import Testing
import ThreadStore

/// Issue 16: what `mailbridge thread show` prints cannot be forged by message content. Only a message's header
/// line starts at column 0 with `---`; subject, attachment names and body are on indented lines, and no content
/// can start a line of its own (CR/LF) or carry a terminal escape or bidi override.
@Suite struct ThreadShowFramingTests {
    static let forgedHeader = "--- inbound 2026-01-01T00:00:00Z  signature: valid"
    static let signerKey = "0123456789ABCDEF0123456789ABCDEF01234567"

    /// A data folder made by `init` with one thread of three inbound messages whose content imitates headers.
    static func seed(_ config: String, logger: Logger) async throws -> ThreadID {
        let installation = try await OpenedInstallation.open(try BridgeConfiguration.load(file: config), logger: logger)
        let mailbox = try #require(installation.mailboxes.first)
        let identity = ClientIdentity(field: mailbox.field, key: try ClientKeyFingerprint(signerKey),
                                      address: try ClientAddress("rahmen@example.net"))
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        let messages = [
            NewMessage(direction: .inbound, messageID: "<frame-1@example.net>",
                       subject: "Frage\r\n\(forgedHeader)\r\nSubject: forged-subject",
                       body: Array("Hallo\n\(forgedHeader)\nSubject: forged-body\n\u{1B}[2J\u{202E}forged-rlo\n".utf8),
                       attachments: [NewAttachment(name: "a.pdf\r\n\(forgedHeader) forged-attachment",
                                                   mediaType: "application/pdf", content: [1])],
                       verdict: .unconfirmedKeyChange, receivedAt: start,
                       signer: MessageSigner(fingerprint: try KeyFingerprint(signerKey),
                                             userID: "Eve \"x\" \u{202E}\n\(forgedHeader) forged-uid")),
            NewMessage(direction: .inbound, messageID: "<frame-2@example.net>", subject: "Zweite",
                       body: Array("Content-Type: text/plain; charset=utf-8\r\n\r\nText\r\n\(forgedHeader)\r\n".utf8),
                       verdict: .valid, receivedAt: start.addingTimeInterval(60),
                       signer: MessageSigner(fingerprint: try KeyFingerprint(signerKey),
                                             userID: "Kim <rahmen@example.net>")),
            NewMessage(direction: .inbound, messageID: "<frame-3@example.net>", subject: "Dritte",
                       body: Array("ohne Signatur".utf8), verdict: .unsigned,
                       receivedAt: start.addingTimeInterval(120)),
        ]
        let thread = try await installation.store.write { tx in
            var thread: ThreadID?
            for message in messages {
                let outcome = try tx.importMessage(message, into: thread.map { .thread($0) } ?? .client(identity))
                guard case .stored(let stored, _, _) = outcome else { throw AdminCommandTests.AdminTestFailure() }
                thread = stored
            }
            return thread!
        }
        await installation.close()
        return thread
    }

    @Test func contentCannotImitateAMessageHeaderLine() async throws {
        let folder = try TemporaryFolder()
        let config = folder.path + "/etc/mailbridge.toml"
        _ = try DataFolderInitializer.run(dataFolder: try AbsolutePath(folder.path + "/data"),
                                          configFile: try AbsolutePath(config))
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"],
                               allowFailure: true)
            folder.remove()
        }
        let logger = LogCapture().logger("admin")
        let thread = try await Self.seed(config, logger: logger)
        let shown = await AdminSession.run(configFile: config, logger: logger) {
            try await ThreadsAdmin.show($0, id: thread.unredactedDescription, json: false)
        }
        #expect(shown.status == .success, "\(shown.errorOutput)")
        let output = shown.output
        // Split on every character a terminal or editor might take as a line end.
        let lines = output.split(omittingEmptySubsequences: false) { $0.isNewline }.map(String.init)

        // One header line per real message, in order, with the verdict word and the signer.
        let headers = lines.filter { $0.hasPrefix("---") }
        try #require(headers.count == 3, "\(output)")
        #expect(headers[0].hasPrefix("--- inbound 2030-03-17T17:46:40Z  signature: unconfirmed_key_change  signer: "
            + "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567 \"Eve \\\"x\\\" \u{FFFD}\u{FFFD}--- inbound"))
        #expect(headers[1] == "--- inbound 2030-03-17T17:47:40Z  signature: valid  signer: "
            + "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567 \"Kim <rahmen@example.net>\"")
        #expect(headers[2] == "--- inbound 2030-03-17T17:48:40Z  signature: unsigned")

        // Every forged text is on an indented content line (or, for the user ID, inside the quotes of a real
        // header line); every line is a header, the thread line, blank, or indented.
        for marker in ["forged-subject", "forged-body", "forged-rlo", "forged-attachment"] {
            let carrying = lines.filter { $0.contains(marker) }
            #expect(!carrying.isEmpty, "\(marker)")
            #expect(carrying.allSatisfy { $0.hasPrefix("  ") }, "\(marker): \(carrying)")
        }
        #expect(lines.filter { $0.contains("forged-uid") } == [headers[0]])
        #expect(lines.filter { $0.contains("Subject: forged-body") } == ["  | Subject: forged-body"])
        #expect(lines.contains("  | \(Self.forgedHeader)"))
        #expect(lines.contains(
            "  Subject: Frage\u{FFFD}\u{FFFD}\(Self.forgedHeader)\u{FFFD}\u{FFFD}Subject: forged-subject"))
        for line in lines {
            #expect(line.isEmpty || line.hasPrefix("---") || line.hasPrefix("thread ") || line.hasPrefix("  "),
                    "\(line)")
        }
        #expect(!output.contains("\u{1B}") && !output.contains("\u{202E}") && !output.contains("\r"))

        // JSON: the verdict word and the cleaned signer, null where there is none.
        let json = await AdminSession.run(configFile: config, logger: logger) {
            try await ThreadsAdmin.show($0, id: thread.unredactedDescription, json: true)
        }
        let messages = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(messages.map { $0["signature"] as? String } == ["unconfirmed_key_change", "valid", "unsigned"])
        let signer = try #require(messages[0]["signer"] as? [String: Any])
        #expect(signer["fingerprint"] as? String == Self.signerKey)
        #expect(signer["userId"] as? String == "Eve \"x\" \u{FFFD}\u{FFFD}\(Self.forgedHeader) forged-uid")
        #expect(messages[2]["signer"] is NSNull)
    }

    /// Issue 17: a thread without key says so on its thread line, and a held reply's header line says it is held
    /// (JSON: `held`), so `thread show` never presents an unsent reply as sent.
    @Test func heldRepliesAndThreadsWithoutKeyAreMarked() async throws {
        let folder = try TemporaryFolder()
        let config = folder.path + "/etc/mailbridge.toml"
        _ = try DataFolderInitializer.run(dataFolder: try AbsolutePath(folder.path + "/data"),
                                          configFile: try AbsolutePath(config))
        defer {
            _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"],
                               allowFailure: true)
            folder.remove()
        }
        let logger = LogCapture().logger("admin")
        let installation = try await OpenedInstallation.open(try BridgeConfiguration.load(file: config), logger: logger)
        let mailbox = try #require(installation.mailboxes.first)
        let client = AwaitingKeyClient(field: mailbox.field, address: try ClientAddress("ohne@example.net"),
                                       signer: try AwaitedSignerID(Self.signerKey))
        let start = Date(timeIntervalSince1970: 1_900_000_000)
        let thread = try await installation.store.write { tx in
            let first = try tx.importMessage(
                NewMessage(direction: .inbound, messageID: "<nokey-1@example.net>", subject: "Frage",
                           body: Array("Hallo".utf8), verdict: .missingKey, receivedAt: start),
                into: .awaitingKey(client))
            guard case .stored(let thread, _, _) = first else { throw AdminCommandTests.AdminTestFailure() }
            let reply = try tx.importMessage(
                NewMessage(direction: .outbound, messageID: "<reply-1@example.org>", subject: "Re: Frage",
                           body: Array("Antwort".utf8), verdict: .notApplicable,
                           receivedAt: start.addingTimeInterval(60)),
                into: .thread(thread))
            guard case .stored(_, let message, _) = reply else { throw AdminCommandTests.AdminTestFailure() }
            try tx.holdReply(message, in: thread, problem: .missing)
            return thread
        }
        await installation.close()
        let shown = await AdminSession.run(configFile: config, logger: logger) {
            try await ThreadsAdmin.show($0, id: thread.unredactedDescription, json: false)
        }
        #expect(shown.status == .success, "\(shown.errorOutput)")
        let lines = shown.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasSuffix("client: ohne@example.net  no key to reply to yet") == true, "\(shown.output)")
        let headers = lines.filter { $0.hasPrefix("---") }
        #expect(headers.count == 2)
        #expect(headers.first?.hasSuffix("signature: unknown_key") == true)
        #expect(headers.last?.hasSuffix("signature: not_applicable  held: waiting for a usable client key") == true)
        let json = await AdminSession.run(configFile: config, logger: logger) {
            try await ThreadsAdmin.show($0, id: thread.unredactedDescription, json: true)
        }
        let messages = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(messages.count == 2 && messages[0]["held"] == nil && messages[1]["held"] as? Bool == true)
    }
}
