import Foundation
import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 5, "never leak": a corpus of more than a thousand mails with unique canaries (subject, display name,
/// Message-ID, custom headers, bodies, file names, client addresses) goes through one real Pipeline (real gpg,
/// real SQLite ThreadStore). Afterwards no canary may be in any queued outbound mail, any log line of the
/// pipeline or store, any outcome or error description, or the raw bytes of the database and its WAL; failed
/// encrypted mail has sent nothing to its sender; and exactly the fresh ciphertexts were imported.
@Suite(.serialized) struct CanaryCorpusTests {
    @Test func thousandMailCorpusLeaksNoCanary() async throws {
        let harness = try await PipelineHarness(maximumPageSize: 10_000)
        let builder = CanaryCorpusBuilder(harness: harness)
        try await builder.makeKeys()
        try builder.makeFresh(gpgCount: 26, sqopCount: 16, rnpCount: 16, inlineCount: 10, unsignedCount: 6,
                              pythonCount: 3)
        // neomutt (Debian package, driven on a pty): part of the corpus when it produced a mail in time.
        if let neomutt = try? await NeomuttMail.make(harness: harness, mint: builder.mint) {
            builder.addExternalFresh(neomutt.raw, armored: neomutt.armored, bodyCanary: neomutt.bodyCanary,
                                     sender: neomutt.sender)
        } else {
            print("canary corpus: no neomutt mail (neomutt missing or it did not send within its time limit)")
        }
        try builder.makeEncryptedFailures(wrongRecipientCount: 6, noMDCCount: 2)
        builder.makeMixed(perCiphertext: 2)
        builder.makePlain(count: 200)
        builder.makeEightBitAndQP(count: 60)
        builder.makeAutoReplies(count: 21)
        builder.makeMalformed(count: 120)
        let corpus = builder.first + builder.shuffledRest()
        #expect(corpus.count >= 1000, "corpus has only \(corpus.count) mails")
        // The scans below look for the canary prefix: every mail must actually carry it.
        #expect(corpus.allSatisfy { $0.bytes.firstRange(of: Array(CanaryMint.contentPrefix.utf8)) != nil })

        // Run every mail through the one pipeline; collect outcomes and every error/reason text produced.
        var descriptions: [String] = []
        var outcomes: [AcceptOutcome] = []
        for (index, mail) in corpus.enumerated() {
            let message = try spool(harness, mail, index: index)
            do {
                let outcome = try await harness.pipeline.accept(message)
                outcomes.append(outcome)
                descriptions.append("\(outcome)")
            } catch {
                Issue.record("accept threw for a \(mail.kind.rawValue) mail")
                descriptions.append("\(error)")
                outcomes.append(.redirectSuppressed("threw"))
            }
            // The parser's and classifier's own error and reason texts (as they would reach a log or reply).
            do {
                let parsed = try MIMEParser().parse(mail.bytes)
                descriptions.append("\(MessageClassifier.classify(parsed))")
            } catch {
                descriptions.append("\(error)")
                descriptions.append(String(reflecting: error))
            }
        }

        // 1. Each mail got the outcome its kind demands.
        var failedSenders: Set<String> = []
        var importedCount = 0
        for (mail, outcome) in zip(corpus, outcomes) {
            switch (mail.expectation, outcome) {
            case (.imported, .imported): importedCount += 1
            case (.rejected, .rejectedEncrypted): mail.sender.map { _ = failedSenders.insert($0) }
            case (.plainHandling, .redirected) where mail.kind != .autoReply: break
            case (.plainHandling, .redirectSuppressed): break
            case (.notImported, .redirected), (.notImported, .redirectSuppressed), (.notImported, .rejectedEncrypted):
                if case .rejectedEncrypted = outcome { mail.sender.map { _ = failedSenders.insert($0) } }
            default:
                Issue.record("a \(mail.kind.rawValue) mail (expected \(mail.expectation)) ended as \(outcome)")
            }
        }
        let freshCount = corpus.filter { $0.expectation == .imported }.count
        #expect(importedCount == freshCount, "imported \(importedCount) of \(freshCount) fresh ciphertexts")
        let replays = zip(corpus, outcomes).filter { $0.0.kind == .replay }
        #expect(replays.allSatisfy { $0.1 == .rejectedEncrypted(.replayedCiphertext) },
                "replays: \(Dictionary(grouping: replays.map { "\($0.1)" }, by: { $0 }).mapValues(\.count))")
        for kind in [CorpusMail.Kind.gpgPGPMIME, .sqopPGPMIME, .rnpPGPMIME, .gpgInline, .unsignedKnownSender] {
            #expect(zip(corpus, outcomes).contains { $0.0.kind == kind && { if case .imported = $0 { true } else { false } }($0.1) },
                    "no \(kind.rawValue) mail imported")
        }

        // 2. The store holds exactly the fresh messages, decrypted: each fresh body canary is in a stored body.
        let field = harness.mailbox.field
        let threads = try await harness.store.read { try $0.listThreads(field: field, limit: 10_000) }
        var storedBodies: [String] = []
        for thread in threads {
            let opened = try await harness.store.read { try $0.openThread(thread.id) }
            storedBodies += opened.messages.map { String(decoding: $0.body, as: UTF8.self) }
        }
        #expect(storedBodies.count == freshCount)
        let joinedBodies = storedBodies.joined(separator: "\n")
        for mail in corpus where mail.expectation == .imported {
            let canary = try #require(mail.storedBodyCanary)
            #expect(joinedBodies.contains(canary), "a \(mail.kind.rawValue) body is not in the store")
        }

        // 3. Outbox: one notice per import (to the team), one redirect per `.redirected`, nothing to a sender whose
        //    encrypted mail failed.
        let outbox = try await harness.store.read {
            try $0.dueOutboxItems(now: Date().addingTimeInterval(365 * 86400), limit: 10_000)
        }
        let redirectedCount = outcomes.filter { $0 == .redirected }.count
        #expect(outbox.filter { $0.kind == .notification }.count == importedCount)
        #expect(outbox.filter { $0.kind == .redirectReply }.count == redirectedCount)
        #expect(outbox.count == importedCount + redirectedCount)
        #expect(outbox.allSatisfy { !failedSenders.contains($0.recipient.unredactedDescription) },
                "an outbound mail went to the sender of a failed encrypted mail")

        // 4. No canary anywhere. All canaries share a prefix, so one case-insensitive scan per place finds any.
        //    A redirect names its own recipient's address (nothing else); that one address is removed first.
        let content = CanaryMint.contentPrefix.lowercased(), address = CanaryMint.addressPrefix
        for item in outbox {
            let text = item.payload.text.lowercased()
                .replacingOccurrences(of: item.recipient.unredactedDescription.lowercased(), with: "")
            #expect(!text.contains(content), "content canary in a queued \(item.kind) mail")
            #expect(!text.contains(address), "foreign client address in a queued \(item.kind) mail")
        }
        let logs = harness.logs.all
        #expect(!logs.isEmpty)
        for line in logs {
            let lower = line.lowercased()
            #expect(!lower.contains(content) && !lower.contains(address), "canary in a log line: \(line)")
        }
        for text in descriptions {
            let lower = text.lowercased()
            #expect(!lower.contains(content) && !lower.contains(address), "canary in a description: \(text)")
        }
        let database = try harness.rawDatabaseBytes()
        #expect(database.count > 100_000)
        for needle in [CanaryMint.contentPrefix, content, address, address.uppercased()] {
            #expect(database.firstRange(of: Array(needle.utf8)) == nil, "canary \(needle)… in the raw database")
        }
        print("canary corpus: \(corpus.count) mails, \(importedCount) imported, \(redirectedCount) redirected, "
              + "\(outcomes.filter { if case .rejectedEncrypted = $0 { true } else { false } }.count) rejected encrypted, "
              + "\(outbox.count) outbox rows, \(logs.count) log lines, \(database.count) database bytes")
        await harness.close()
    }

    /// Writes a corpus mail byte-exact as a spooled message (the SMTP listener's output format: CRLF as sent).
    private func spool(_ harness: PipelineHarness, _ mail: CorpusMail, index: Int) throws -> InboundMessage {
        let url = harness.root.appendingPathComponent("spool/corpus-\(index).eml")
        try Data(mail.bytes).write(to: url)
        let queueID = QueueID.make(millisecondsSince1970: 1_800_000_000_000 + UInt64(index))
        let envelope = InboundMessage.Envelope(
            reversePath: try mail.sender.map { .mailbox(try EmailAddress($0)) } ?? .null,
            recipients: [try EmailAddress(PipelineHarness.counselling)], clientAddress: PeerAddress("127.0.0.1"),
            receivedAt: Date(), queueID: queueID)
        return InboundMessage(envelope: envelope, spoolFile: url, size: mail.bytes.count)
    }
}
