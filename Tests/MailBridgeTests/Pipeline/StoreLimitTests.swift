import Foundation
import Logging
@testable import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 25, item 2: every per-field limit of ThreadStore, met from the mail side (real gpg-encrypted client mail
/// through the spool, the runner and the pipeline). Names, subjects, media types and Message-IDs over their limit
/// are cut with a marker and the message is imported; a body, an attachment or an attachment count over its limit
/// cannot be cut without losing words: the message is refused at once, its ciphertext kept sealed (never its
/// plaintext), it leaves the spool (no outer header stays behind in clear), and the team gets one content-free
/// notice. Nothing is retried for ever.
@Suite(.serialized) struct StoreLimitTests {
    static let client = "lang@example.net"

    /// A pipeline over a fresh store file with `limits` (and the harness's gateway key and mailbox), and a spool.
    struct Setup {
        let harness: PipelineHarness
        let store: ThreadStore
        let storeFile: URL
        let pipeline: Pipeline
        let intake: SpoolIntake
        let runner: PipelineRunner
        let key: KeyFingerprint

        init(_ limits: (inout ThreadStore.Configuration) -> Void = { _ in }) async throws {
            harness = try await PipelineHarness()
            var configuration = ThreadStore.Configuration()
            configuration.logger = harness.logs.logger("limited-store")
            limits(&configuration)
            storeFile = harness.root.appendingPathComponent("limited.sqlite")
            store = try ThreadStore(at: storeFile, masterKey: .generate(), configuration: configuration)
            pipeline = Pipeline(store: store, pgp: harness.pgp, configuration: harness.pipeline.configuration,
                                logger: harness.logs.logger("pipeline"))
            intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
            runner = PipelineRunner(spool: intake, pipeline: pipeline, logger: harness.logs.logger("runner"))
            key = try harness.client.makeKey(StoreLimitTests.client)
            _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", key.hex]).stdout)
        }

        /// Signs and encrypts `inner` (CRLF) with gpg (compressing, as gpg does by default) and spools it with an
        /// outer header `X-Outer-Note: <outerNote>` in clear.
        func spool(inner: String, messageID: String, outerNote: String, copies: Int = 1) async throws {
            let ciphertext = try harness.client.gpg(
                ["--armor", "--sign", "--local-user", key.hex, "--encrypt", "--recipient", harness.gateway.hex],
                stdin: Array(inner.replacingOccurrences(of: "\r\n", with: "\n")
                    .replacingOccurrences(of: "\n", with: "\r\n").utf8)).stdout
            let raw = try harness.pgpMIMEMail(from: StoreLimitTests.client, ciphertext: ciphertext,
                                              messageID: messageID, extraHeaders: ["X-Outer-Note": " " + outerNote])
            for _ in 0..<copies { try await PipelineHarness.spool(raw, from: StoreLimitTests.client, into: intake) }
        }

        func threads() async throws -> [ThreadSummary] {
            try await store.read { try $0.listThreads(field: harness.mailbox.field) }
        }

        func messages() async throws -> [InboxMessage] {
            guard let thread = try await threads().first else { return [] }
            return try await store.read { try $0.openInboxThread(thread.id) }.messages
        }

        /// Every file left under the spool folders.
        func spoolFiles() throws -> [URL] {
            let root = harness.root.appendingPathComponent("intake")
            let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
            return (walker?.allObjects as? [URL] ?? []).filter {
                (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
            }
        }

        func rawStoreBytes() -> Data {
            ["", "-wal"].reduce(into: Data()) { bytes, suffix in
                bytes += FileManager.default.contents(atPath: storeFile.path + suffix) ?? Data()
            }
        }
    }

    /// A header parameter as RFC 2231 continuations (`name*0*=utf-8''…; name*1*=…`), for values longer than a line.
    static func continued(_ name: String, _ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.")
        // 100 characters a section (at most 600 octets encoded): 30 sections for 3,000, below the parser's 64.
        return stride(from: 0, to: value.count, by: 100).map { (start: Int) -> String in
            let chunk = String(value.dropFirst(start).prefix(100))
            let encoded = chunk.addingPercentEncoding(withAllowedCharacters: allowed)!
            let index = start / 100
            return "\r\n \(name)*\(index)*=\(index == 0 ? "utf-8''" : "")\(encoded)"
        }.joined(separator: ";")
    }

    /// A long subject folded over lines of words.
    static func foldedSubject(_ words: [String]) -> String {
        stride(from: 0, to: words.count, by: 8).map { words[$0..<min($0 + 8, words.count)].joined(separator: " ") }
            .joined(separator: "\r\n ")
    }

    /// A text and a PDF attachment named `name`.
    static func longNameMail(_ name: String) -> String {
        """
        Content-Type: multipart/mixed; boundary="b"; protected-headers="v1"
        Subject: Langer Name

        --b
        Content-Type: text/plain; charset=utf-8

        Hallo
        --b
        Content-Type: application/pdf
        Content-Disposition: attachment;\(continued("filename", name))
        Content-Transfer-Encoding: base64

        JVBERi0xLjQK
        --b--
        """.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    }

    /// The same in mail signed by a key the gateway does not have: imported into a thread without key (issue 17),
    /// through the same fitting.
    @Test func aLongNameInMailWithoutAKnownKeyIsCutToo() async throws {
        let setup = try await Setup()
        let stranger = "neu@example.net"
        let key = try setup.harness.client.makeKey(stranger)
        let ciphertext = try setup.harness.client.gpg(
            ["--armor", "--sign", "--local-user", key.hex, "--encrypt", "--recipient", setup.harness.gateway.hex],
            stdin: Array(Self.longNameMail(String(repeating: "x", count: 2_996) + ".pdf").utf8)).stdout
        let raw = try setup.harness.pgpMIMEMail(from: stranger, ciphertext: ciphertext,
                                                messageID: "<nokey@example.net>")
        let outcome = try await setup.pipeline.accept(try setup.harness.spool(raw, from: stranger))
        guard case .imported(let thread, _) = outcome else {
            Issue.record("not imported: \(outcome)")
            return
        }
        #expect(try await setup.store.read { try $0.isAwaitingKey(thread) })
        let message = try #require(try await setup.store.read { try $0.openInboxThread(thread) }.messages.first)
        #expect(message.attachments.first?.name.hasSuffix("x[…].pdf") == true)
        #expect(message.attachments.first.map { $0.name.utf8.count <= 1024 } == true)
        await setup.harness.close()
    }

    /// The issue's case at the store's default limits: a 3,000-character file name (1,500 of them two octets in
    /// UTF-8) is cut to the store's 1 KiB with a marker before its extension, and the message is imported on the
    /// first attempt; nothing stays in the spool.
    @Test func aThreeThousandCharacterFileNameIsCutAndTheMessageImported() async throws {
        let setup = try await Setup()
        let name = String(repeating: "ä", count: 1_500) + String(repeating: "n", count: 1_496) + ".pdf"
        #expect(name.count == 3_000)
        try await setup.spool(inner: Self.longNameMail(name), messageID: "<long-name@example.net>", outerNote: "x")
        await setup.runner.drain()
        #expect(try setup.intake.pending().isEmpty, "the message must leave the spool on the first round")
        let message = try #require(try await setup.messages().first)
        let stored = try #require(message.attachments.first)
        #expect(stored.name.utf8.count <= ThreadStore.Configuration().maximumAttachmentNameBytes)
        #expect(stored.name.hasPrefix(String(repeating: "ä", count: 300)) && stored.name.hasSuffix("[…].pdf"),
                "\(stored.name.suffix(20))")
        #expect(stored.mediaType == "application/pdf")
        #expect(setup.harness.logs.all.contains { $0.contains("message fields cut to fit the store") })
        await setup.harness.close()
    }

    /// Subject, file name, media type and Message-ID, each over a (lowered) store limit: each is cut or replaced,
    /// the message imported once, and a second copy is recognised as the same message.
    @Test func everyCuttableFieldIsCutWithAMarker() async throws {
        let setup = try await Setup { limits in
            limits.maximumSubjectBytes = 200
            limits.maximumAttachmentNameBytes = 60
            limits.maximumMediaTypeBytes = 40
            limits.maximumMessageIDBytes = 100
        }
        let words = (0..<100).map { "Wort\($0)" }
        let inner = """
            Content-Type: multipart/mixed; boundary="b"; protected-headers="v1"
            Subject: \(Self.foldedSubject(words))

            --b
            Content-Type: text/plain; charset=utf-8

            Hallo
            --b
            Content-Type: application/x-\(String(repeating: "s", count: 60))
            Content-Disposition: attachment; filename="\(String(repeating: "d", count: 80)).txt"

            eins
            --b--
            """
        let messageID = "<\(String(repeating: "m", count: 150))@example.net>"
        try await setup.spool(inner: inner, messageID: messageID, outerNote: "x", copies: 2)
        await setup.runner.drain()
        #expect(try setup.intake.pending().isEmpty)
        let messages = try await setup.messages()
        #expect(messages.count == 1, "the second copy is a duplicate")
        let message = try #require(messages.first)
        #expect(message.subject.utf8.count <= 200 && message.subject.hasPrefix("Wort0 Wort1 ")
            && message.subject.hasSuffix(" […]"), "\(message.subject)")
        let attachment = try #require(message.attachments.first)
        #expect(attachment.name == String(repeating: "d", count: 60 - "[…].txt".utf8.count) + "[…].txt")
        #expect(attachment.mediaType == "application/octet-stream")
        let audit = try await setup.store.read { try $0.latestAuditEntries(AuditFilter(), limit: 100) }
        #expect(audit.filter { $0.event == .messageStored }.count == 1)
        #expect(audit.filter { $0.event == .duplicateIgnored }.count == 1)
        await setup.harness.close()
    }

    /// Body, attachment size and attachment count over their (lowered) limits: each message is refused on its
    /// first attempt as `unstorable`, its ciphertext kept sealed, and it leaves the spool; the team gets one
    /// notice (at most one per hour per mailbox) that carries nothing of the messages; no canary from the
    /// plaintext or the outer headers is left in the spool folders, the logs, the notice or in clear in the store.
    @Test func aMessageOverALimitThatCannotBeCutIsRefusedKeptSealedAndTheTeamIsTold() async throws {
        let setup = try await Setup { limits in
            limits.maximumBodyBytes = 30_000
            limits.maximumAttachmentBytes = 2_000
            limits.maximumAttachments = 2
        }
        let canary = "CANARY\(UUID().uuidString.prefix(8))"
        func attachment(_ number: Int, bytes: Int) -> String {
            """
            --b
            Content-Type: text/plain; charset=utf-8
            Content-Disposition: attachment; filename="teil\(number).txt"

            \(String(repeating: "\(canary) Zeile \(number)\r\n", count: bytes / 24))
            """
        }
        let body = "Content-Type: multipart/mixed; boundary=\"b\"; protected-headers=\"v1\"\r\n"
            + "Subject: \(canary)\r\n\r\n"
        let cases: [(String, String)] = [
            ("body", body + attachment(1, bytes: 1_000) + "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                + String(repeating: "\(canary) Text\r\n", count: 2_000) + "--b--\r\n"),
            ("attachment size", body + attachment(1, bytes: 5_000) + "--b--\r\n"),
            ("attachment count", body + (1...3).map { attachment($0, bytes: 100) }.joined() + "--b--\r\n"),
        ]
        for (index, item) in cases.enumerated() {
            try await setup.spool(inner: item.1, messageID: "<limit-\(index)@example.net>",
                                  outerNote: "\(canary)-outer")
        }
        #expect(try setup.intake.pending().count == cases.count)
        // Before: the outer header is in clear in the spool.
        #expect(try setup.spoolFiles().contains { file in
            ((try? Data(contentsOf: file)) ?? Data()).range(of: Data("\(canary)-outer".utf8)) != nil
        })
        await setup.runner.drain()

        #expect(try setup.intake.pending().isEmpty, "refused on the first round, not retried")
        #expect(try await setup.threads().isEmpty)
        let rejected = try await setup.store.read { try $0.listRejected() }
        #expect(rejected.count == cases.count)
        #expect(rejected.allSatisfy { $0.reason == AcceptOutcome.RejectionReason.unstorable.auditCode })
        let audit = try await setup.store.read { try $0.latestAuditEntries(AuditFilter(), limit: 100) }
        #expect(audit.filter {
            $0.event == .inboundEncryptedRejected && $0.count == AcceptOutcome.RejectionReason.unstorable.storedCode
        }.count == cases.count)

        let outbox = try await setup.store.read {
            try $0.dueOutboxItems(now: Date().addingTimeInterval(86_400), limit: 100)
        }
        let notices = outbox.filter { $0.recipient.unredactedDescription == PipelineHarness.team }
        #expect(outbox.count == 1 && notices.count == 1, "one notice for three messages, nothing else")
        let notice = String(decoding: notices.first?.payload ?? [], as: UTF8.self)
        #expect(notice.contains("konnte nicht in einen Verlauf"))
        for needle in [canary, Self.client, "limit-"] {
            #expect(!notice.contains(needle), "notice carries \(needle)")
        }

        // Nothing in clear anywhere: spool folders (incoming, tmp, quarantine), logs, the store file.
        for file in try setup.spoolFiles() {
            let bytes = (try? Data(contentsOf: file)) ?? Data()
            #expect(bytes.range(of: Data(canary.utf8)) == nil, "\(file.lastPathComponent) keeps a canary in clear")
        }
        for line in setup.harness.logs.all { #expect(!line.contains(canary), "log: \(line)") }
        #expect(setup.rawStoreBytes().range(of: Data(canary.utf8)) == nil)
        #expect(setup.harness.logs.all.contains { $0.contains("encrypted message cannot be stored") })
        await setup.harness.close()
    }
}
