import Foundation
import Logging
@testable import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 28, item 2: rejected encrypted mail is kept, sealed, for a while, and can be listed, re-injected and
/// deleted; it expires; nothing about it reaches the sender.
@Suite struct RejectedMessageTests {
    /// A PGP/MIME mail with a canary Subject (and the From given) around `ciphertext`.
    static func mail(from: String?, subject: String, ciphertext: [UInt8], id: String = UUID().uuidString) -> String {
        (from.map { "From: \($0)\n" } ?? "") + "To: \(PipelineHarness.counselling)\nSubject: \(subject)\n"
            + "Message-ID: <\(id)@example.net>\nMIME-Version: 1.0\n"
            + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\n\n"
            + "--b0\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
            + "--b0\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n"
            + String(decoding: ciphertext, as: UTF8.self) + "\n--b0--\n"
    }

    /// Every reason the pipeline can produce here lands in the store sealed: the Subject and From canaries
    /// appear nowhere in the database files, the listing has no personal data, and no mail is queued.
    @Test func eachRejectionIsKeptSealedWithoutOutwardSign() async throws {
        let harness = try await PipelineHarness()
        let tag = UUID().uuidString.prefix(8)
        let subject = "CANARYSUBJ\(tag)"
        let sender = "canaryfrom\(tag)@example.net"
        let key = try harness.client.makeKey(sender)
        _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", key.hex]).stdout)
        let stranger = try harness.client.makeKey("fremd\(tag)@example.net")
        func encrypt(to recipient: KeyFingerprint, sign: Bool = true) throws -> [UInt8] {
            try harness.client.gpg(["--armor"] + (sign ? ["--sign", "--local-user", key.hex] : [])
                                   + ["--encrypt", "--recipient", recipient.hex],
                                   stdin: Array("Text \(tag)".utf8)).stdout
        }
        let good = try encrypt(to: harness.gateway)
        // Bits flipped in the middle of the encrypted data (as DecryptionFailureTests does): corrupted.
        var binary = try harness.client.gpg(["--compress-algo", "none", "--encrypt", "--recipient",
                                             harness.gateway.hex],
                                            stdin: Array(String(repeating: "x", count: 4000).utf8)).stdout
        for offset in stride(from: binary.count / 2, to: binary.count / 2 + 16, by: 1) { binary[offset] ^= 0x5A }
        let corrupted = "-----BEGIN PGP MESSAGE-----\n\n"
            + Data(binary).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            + "\n=" + Self.crc24(binary) + "\n-----END PGP MESSAGE-----\n"
        let cases: [(String, String?, String, AcceptOutcome.RejectionReason)] = [
            (Self.mail(from: sender, subject: subject, ciphertext: try encrypt(to: stranger)), sender,
             PipelineHarness.counselling, .notForUs),
            (Self.mail(from: sender, subject: subject, ciphertext: Array(corrupted.utf8)), sender,
             PipelineHarness.counselling, .corrupted),
            (Self.mail(from: sender, subject: subject, ciphertext: good), sender, "andere@example.org", .noMailbox),
            (Self.mail(from: nil, subject: subject, ciphertext: good), sender, PipelineHarness.counselling,
             .invalidSender),
        ]
        for (raw, envelope, recipient, reason) in cases {
            let outcome = try await harness.pipeline.accept(try harness.spool(raw, from: envelope, to: recipient))
            #expect(outcome == .rejectedEncrypted(reason))
        }
        // The same ciphertext again under another Message-ID is a replay.
        guard case .imported = try await harness.pipeline.accept(
            try harness.spool(Self.mail(from: sender, subject: subject, ciphertext: good), from: sender))
        else { throw Failure("the original was not imported") }
        let replay = try harness.spool(Self.mail(from: sender, subject: subject, ciphertext: good), from: sender)
        #expect(try await harness.pipeline.accept(replay) == .rejectedEncrypted(.replayedCiphertext))

        let kept = try await harness.store.read { try $0.listRejected() }
        let expected: [AcceptOutcome.RejectionReason] = [.notForUs, .corrupted, .noMailbox, .invalidSender,
                                                         .replayedCiphertext]
        #expect(kept.map(\.reason) == expected.map(\.auditCode))
        for entry in kept {
            let text = "\(entry)"
            #expect(!text.contains(tag))
            let opened = try #require(try await harness.store.read { try $0.openRejected(entry.id) })
            #expect(String(decoding: opened.message, as: UTF8.self).contains(subject))  // kept as received
            #expect(!String(decoding: opened.message, as: UTF8.self).contains("Text \(tag)"))  // never plaintext
        }
        try await harness.store.checkpoint()
        let raw = try harness.rawDatabaseBytes()
        for canary in [subject, sender, "Text \(tag)"] {
            #expect(raw.firstRange(of: Array(canary.utf8)) == nil, "\(canary) readable in the database")
        }
        // No outward sign: only the counsellor notice of the one imported message is queued, nothing to the sender.
        let outbox = try await harness.outbox()
        #expect(outbox.allSatisfy { $0.recipient.unredactedDescription == PipelineHarness.team })
        #expect(outbox.count == 1)
        await harness.close()
    }

    /// The armor checksum (RFC 4880 §6.1 CRC-24), base64.
    static func crc24(_ bytes: [UInt8]) -> String {
        var crc: UInt32 = 0xB704CE
        for byte in bytes {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x1000000 != 0 { crc ^= 0x1864CFB }
            }
        }
        crc &= 0xFFFFFF
        return Data([UInt8(crc >> 16), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]).base64EncodedString()
    }

    /// Reason codes are stored: their values must never move.
    @Test func reasonCodesArePinned() {
        #expect(AcceptOutcome.RejectionReason.notForUs.auditCode == 1)
        #expect(AcceptOutcome.RejectionReason.noMailbox.auditCode == 11)
        #expect(AcceptOutcome.RejectionReason.ambiguousSigners.auditCode == 13)
        #expect(AcceptOutcome.RejectionReason(auditCode: 8) == .noClientKey)
        #expect(AcceptOutcome.RejectionReason(auditCode: 99) == nil)
        #expect(AuditEvent.rejectedMessageReinjected.rawValue == 52)
        #expect(AuditEvent.rejectedMessageDeleted.rawValue == 53)
        #expect(AuditEvent.rejectedMessagesExpired.rawValue == 54)
    }

    /// `rejected-days` is read from `[retention]` (default 14).
    @Test func rejectedDaysIsConfigurable() throws {
        let base = """
            [[mailbox]]
            address = "beratung@example.org"
            field = "allgemein"
            team-notification-address = "team@example.org"
            redirect-link = "https://beratung.example.org/login"

            """
        #expect(try BridgeConfiguration.parse(base).retention.rejectedDays == 14)
        #expect(try BridgeConfiguration.parse(base + "[retention]\nrejected-days = 30\n").retention.rejectedDays == 30)
        #expect(throws: (any Error).self) { try BridgeConfiguration.parse(base + "[retention]\nrejected-days = 0\n") }
    }

    /// The administrator's view: `spool list --rejected` shows name and reason only; `reinject --rejected` puts the
    /// message back through the normal pipeline (here: after the mailbox's key was put right in the
    /// configuration, it is imported); `delete --rejected` removes one; retention removes the rest after
    /// `rejected-days`, not before.
    @Test func listReinjectDeleteAndExpire() async throws {
        let folder = try TemporaryFolder()
        let config = folder.path + "/etc/mailbridge.toml"
        _ = try DataFolderInitializer.run(dataFolder: try AbsolutePath(folder.path + "/data"),
                                          configFile: try AbsolutePath(config))
        let client = try GnuPGClient(home: folder.url.appendingPathComponent("client"))
        defer {
            client.kill()
            _ = try? Shell.run("gpgconf", ["--homedir", folder.path + "/data/gnupg", "--kill", "all"], allowFailure: true)
            folder.remove()
        }
        let logs = LogCapture()
        let logger = logs.logger("admin")
        let tag = UUID().uuidString.prefix(8)
        let sender = "canaryfrom\(tag)@example.net"
        let subject = "CANARYSUBJ\(tag)"
        let spoolRoot = URL(fileURLWithPath: folder.path + "/data/spool")

        // A message for the mailbox's key, processed while the configuration named another key for the mailbox.
        var installation = try await OpenedInstallation.open(try BridgeConfiguration.load(file: config), logger: logger)
        let mailbox = try #require(installation.mailboxes.first)
        let key = try client.makeKey(sender)
        _ = try await installation.pgp.importPublicKeys(try client.gpg(["--export", key.hex]).stdout)
        try client.gpg(["--import"], stdin: try await installation.pgp.exportPublicKey(mailbox.gatewayKey))
        let ciphertext = try client.gpg(["--armor", "--sign", "--local-user", key.hex, "--encrypt", "--recipient",
                                         mailbox.gatewayKey.hex], stdin: Array("Text \(tag)".utf8)).stdout
        var wrong = mailbox
        wrong.gatewayKey = try await installation.pgp.generateKey(userID: "Alt <alt@example.org>")
        let intake = try SpoolIntake(root: spoolRoot)
        for index in 0..<2 {
            let raw = Self.mail(from: sender, subject: subject, ciphertext: ciphertext, id: "\(tag)-\(index)")
                .replacingOccurrences(of: "To: \(PipelineHarness.counselling)", with: "To: \(mailbox.address)")
            try await PipelineHarness.spool(raw, from: sender, to: mailbox.address.unredactedDescription, into: intake)
        }
        let misconfigured = try Pipeline(store: installation.store, pgp: installation.pgp,
                                     configuration: .init(mailboxes: [wrong]), logger: logger)
        await PipelineRunner(spool: intake, pipeline: misconfigured, logger: logger).drain()
        #expect(try intake.pending().isEmpty)
        await installation.close()

        func run(_ body: (OpenedInstallation) async throws -> AdminResult) async -> AdminResult {
            await AdminSession.run(configFile: config, logger: logger, body)
        }
        let listed = await run { try await RejectedAdmin.list($0, json: true) }
        #expect(listed.status == .success, "\(listed.errorOutput)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0["reason"] as? String == "notForUs" })
        #expect(!listed.output.contains(tag))
        let text = await run { try await RejectedAdmin.list($0, json: false) }
        #expect(!text.output.contains(tag) && text.output.contains("notForUs"))
        let names = entries.compactMap { $0["name"] as? String }.sorted()

        // Re-inject the first; the gateway (right configuration) imports it.
        let reinjected = await run { try await RejectedAdmin.reinject($0, name: names[0]) }
        #expect(reinjected.status == .success, "\(reinjected.errorOutput)")
        #expect(try intake.pending().count == 1)
        installation = try await OpenedInstallation.open(try BridgeConfiguration.load(file: config), logger: logger)
        let pipeline = try Pipeline(store: installation.store, pgp: installation.pgp,
                                configuration: .init(mailboxes: installation.mailboxes), logger: logger)
        await PipelineRunner(spool: intake, pipeline: pipeline, logger: logger).drain()
        #expect(try intake.pending().isEmpty)
        let threads = try await installation.store.read { try $0.listThreads(field: mailbox.field) }
        #expect(threads.count == 1)
        #expect(try await installation.store.read { try $0.listRejected() }.map(\.id) == [names[1]])
        await installation.close()

        // Delete needs the name of a kept message; a wrong one is a usage error.
        let unknown = await run { try await RejectedAdmin.delete($0, name: "nichtda") }
        #expect(unknown.status != .success)
        let deleted = await run { try await RejectedAdmin.delete($0, name: names[1]) }
        #expect(deleted.status == .success, "\(deleted.errorOutput)")
        let empty = await run { try await RejectedAdmin.list($0, json: false) }
        #expect(empty.output == "no rejected messages are kept")

        // Expiry: one more rejected message, then maintenance with a clock 13 and 15 days on.
        installation = try await OpenedInstallation.open(try BridgeConfiguration.load(file: config), logger: logger)
        let raw = Self.mail(from: sender, subject: subject, ciphertext: ciphertext, id: "\(tag)-x")
        try await PipelineHarness.spool(raw, from: sender, to: "andere@example.org", into: intake)
        let reopened = try Pipeline(store: installation.store, pgp: installation.pgp,
                                configuration: .init(mailboxes: installation.mailboxes), logger: logger)
        await PipelineRunner(spool: intake, pipeline: reopened, logger: logger).drain()
        #expect(try intake.pending().isEmpty)
        #expect(try await installation.store.read { try $0.listRejected() }.count == 1)
        for (days, remaining) in [(13.0, 1), (15.0, 0)] {
            let later = Date().addingTimeInterval(days * 86_400)
            let maintenance = try MaintenanceService(store: installation.store,
                                                     retention: installation.configuration.retention,
                                                     sessionIdleTimeout: 1800, logger: logger, now: { later })
            await maintenance.runOnce()
            #expect(try await installation.store.read { try $0.listRejected() }.count == remaining, "after \(days) days")
        }
        let audit = try await installation.store.read { try $0.latestAuditEntries(AuditFilter(), limit: 200) }
        #expect(audit.contains { $0.event == .rejectedMessageReinjected })
        #expect(audit.contains { $0.event == .rejectedMessageDeleted })
        #expect(audit.contains { $0.event == .rejectedMessagesExpired })
        // Nothing readable of the message anywhere in the data folder (store, spool).
        try await installation.store.checkpoint()
        await installation.close()
        let files = FileManager.default.enumerator(atPath: folder.path + "/data")?.compactMap { $0 as? String } ?? []
        for file in files where !file.hasPrefix("gnupg") {
            guard let data = FileManager.default.contents(atPath: folder.path + "/data/" + file) else { continue }
            #expect(data.range(of: Data(subject.utf8)) == nil, "\(file)")
            #expect(data.range(of: Data(sender.utf8)) == nil, "\(file)")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
