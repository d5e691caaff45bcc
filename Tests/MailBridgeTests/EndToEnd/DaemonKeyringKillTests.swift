import Foundation
import MailBridge
import NIOCore
@testable import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 28 item 1 through the real daemon: first-contact messages (each new client with its own key in an
/// Autocrypt header, which the gateway imports: a keyring write) and returning clients' messages (decryption and
/// key look-ups: keyring reads) sent concurrently over SMTP on loopback to `mailbridge serve`, with real gpg,
/// while the daemon is killed with `kill -9` at random moments and started again at once (the gpg processes the
/// killed daemon started live on; the new one claims the home first). Senders resend what got no `250`, as an MTA
/// would. Afterwards not one message may be `rejected-encrypted` (audit, rejected-message store, log), and every
/// message that got `250` is in its client's one thread exactly once, bound to the client's key.
///
/// `MB_DAEMON_KEYRING_STRESS=<messages>` raises the count (default 200: 120 first contacts and 80 messages of 8
/// returning clients, after one warm-up message each) and `MB_DAEMON_KEYRING_KILLS=<kills>` the kills (default 6).
@Suite(.serialized) struct DaemonKeyringKillTests {
    static var total: Int {
        max(20, ProcessInfo.processInfo.environment["MB_DAEMON_KEYRING_STRESS"].flatMap(Int.init) ?? 200)
    }
    static var kills: Int { ProcessInfo.processInfo.environment["MB_DAEMON_KEYRING_KILLS"].flatMap(Int.init) ?? 6 }
    static let returningClients = 8
    static let senders = 6
    static let counselling = PipelineHarness.counselling

    /// One message to send: its client, Message-ID and bytes (CRLF).
    struct Outgoing: Sendable {
        var client: String
        var messageID: String
        var bytes: String
    }

    @Test(.timeLimit(.minutes(10))) func firstContactsAndReturningClientsThroughKillsAreNeverRejected() async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product first")
        let started = ContinuousClock.now
        let daemon = try GatewayDaemon(name: "keyring-kills", smtp: """
            max-connections-per-ip = 100
            max-connections = 100
            """, sections: """
            [[mailbox]]
            address = "\(Self.counselling)"
            field = "allgemein"
            team-notification-address = "\(PipelineHarness.team)"
            redirect-link = "https://beratung.example/login"
            language = "de"
            [metrics]
            enabled = false
            [web]
            enabled = false
            """)
        defer { daemon.remove() }
        let client = try GnuPGClient(home: daemon.folder.appending(path: "client"))
        defer { client.kill() }
        try client.gpg(["--import"], stdin: try daemon.command(["keys", "export"]).stdout)
        let gateway = try client.fingerprint(Self.counselling)

        // Keys and messages: first contacts carry their key (Autocrypt); returning clients introduce theirs in a
        // warm-up message, then send without it.
        let tag = UUID().uuidString.prefix(6).lowercased()
        let returningCount = max(1, Self.total * 2 / 5 / Self.returningClients)  // two fifths returning
        let firstContacts = Self.total - Self.returningClients * returningCount
        let newcomers = (0..<firstContacts).map { "neu\($0)-\(tag)@example.net" }
        let regulars = (0..<Self.returningClients).map { "stamm\($0)-\(tag)@example.net" }
        let keys = try client.makeKeys(newcomers + regulars)
        try #require(keys.count == newcomers.count + regulars.count)
        func message(_ address: String, _ index: Int, autocrypt: Bool) throws -> Outgoing {
            let key = keys[address]!
            let id = "k\(index)-\(tag)@example.net"
            let armored = try client.gpg(["--armor", "--sign", "--local-user", key.hex, "--encrypt",
                                          "--recipient", gateway.hex, "--recipient", key.hex],
                                         stdin: Array("Nachricht \(index) von \(address)".utf8)).stdout
            var headers = "From: \(address)\nTo: \(Self.counselling)\nSubject: ...\nMessage-ID: <\(id)>\n"
                + "Date: \(Self.rfc5322Date())\n"
            if autocrypt {
                let keydata = Data(try client.gpg(["--export", "--export-options", "export-minimal", key.hex]).stdout)
                    .base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
                    .replacingOccurrences(of: "\n", with: "\n ")
                headers += "Autocrypt: addr=\(address); prefer-encrypt=mutual; keydata=\n \(keydata)\n"
            }
            let raw = headers + "MIME-Version: 1.0\n"
                + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b0\"\n\n"
                + "--b0\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
                + "--b0\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n"
                + String(decoding: armored, as: UTF8.self) + "\n--b0--\n"
            return Outgoing(client: address, messageID: id, bytes: raw.replacingOccurrences(of: "\n", with: "\r\n"))
        }
        var index = 0
        let warmUp = try regulars.map { address in
            index += 1
            return try message(address, index, autocrypt: true)
        }
        var stress: [Outgoing] = []
        var nextNewcomer = 0
        var regularMessages = 0
        while nextNewcomer < newcomers.count || regularMessages < regulars.count * returningCount {
            index += 1
            // Interleaved: two first contacts, then one returning client's message, while both last.
            if nextNewcomer < newcomers.count, index % 3 != 0 || regularMessages == regulars.count * returningCount {
                stress.append(try message(newcomers[nextNewcomer], index, autocrypt: true))
                nextNewcomer += 1
            } else {
                stress.append(try message(regulars[regularMessages % regulars.count], index, autocrypt: false))
                regularMessages += 1
            }
        }
        let prepared = ContinuousClock.now

        // Warm-up: the returning clients become known (their key imported, their thread created).
        var process = try daemon.launch()
        try #require(try await daemon.waitUntilListening(process), "the gateway did not start")
        let warmLedger = SendLedger(warmUp)
        await Self.send(warmLedger, port: daemon.port, senders: 2)
        try #require(try await Self.waitUntilProcessed(daemon, process, timeout: .seconds(120)))

        // The stress: senders resend what got no 250 while the daemon is killed and restarted.
        let ledger = SendLedger(stress)
        let sending = Task { await Self.send(ledger, port: daemon.port, senders: Self.senders) }
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var killsWithLiveGPG = 0
        var killsWithSpooledMail = 0
        while kills < Self.kills, !(await ledger.isDone && daemon.spooled == 0) {
            try await Task.sleep(for: .milliseconds(Int.random(in: 300...2500, using: &generator)))
            let spooledAtKill = daemon.spooled
            daemon.kill(process)
            kills += 1
            if !StaleProcesses.bound(to: daemon.gnupgHome.path).isEmpty { killsWithLiveGPG += 1 }
            if spooledAtKill > 0 { killsWithSpooledMail += 1 }
            process = try daemon.launch()
            try #require(try await daemon.waitUntilListening(process), "the gateway did not restart")
        }
        await sending.value
        let processedInTime = try await Self.waitUntilProcessed(daemon, process, timeout: .seconds(300))
        let finished = ContinuousClock.now
        #expect(try await daemon.stop(process), "the daemon did not stop after SIGTERM")
        #expect(processedInTime, "\(daemon.spooled) messages left in the spool")

        // Outcomes: the store (audit, rejected messages, threads) and the log.
        let configuration = try BridgeConfiguration.load(file: daemon.config.path)
        var storeConfiguration = ThreadStore.Configuration()
        storeConfiguration.maximumPageSize = 100_000
        let store = try ThreadStore(at: daemon.dataFolder.appending(path: "threads.sqlite"),
                                    masterKey: try configuration.keys.loadMasterKey(),
                                    configuration: storeConfiguration)
        defer { try? store.close() }
        let audit = try await store.read { try $0.latestAuditEntries(AuditFilter(), limit: 100_000) }
        let rejections = audit.filter { $0.event == .inboundEncryptedRejected }.count
        let rejectedKept = try await store.read { try $0.listRejected() }.count
        let rejectedLogged = daemon.logLines(containing: "rejected-encrypted")
        let field = try CounsellingField("allgemein")
        let threads = try await store.read { tx in
            try tx.listThreads(field: field, limit: 100_000).map { try tx.openThread($0.id) }
        }
        var byClient: [String: [OpenedThread]] = [:]
        for thread in threads { byClient[thread.clientAddress.unredactedDescription, default: []].append(thread) }
        let accepted = await ledger.accepted + warmLedger.accepted
        var misplaced: [String] = []
        for (address, ids) in Dictionary(grouping: accepted, by: \.client) {
            let owned = byClient[address] ?? []
            let stored = owned.flatMap(\.messages).filter { $0.direction == .inbound }
                .map { $0.messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<>")) }
            let keyed = owned.allSatisfy { $0.clientKey?.hex == keys[address]?.hex }
            if owned.count != 1 || !keyed || stored.sorted() != ids.map(\.messageID).sorted() {
                misplaced.append("\(address): \(owned.count) threads, keyed \(keyed), \(stored.count) of "
                                 + "\(ids.count) messages")
            }
        }
        let clients = Set(accepted.map(\.client)).count
        let sessions = await ledger.attempts
        let stale = Self.staleProcessCounts(daemon.logText)
        print("daemon keyring kills: \(accepted.count) messages accepted with 250 (\(firstContacts) first contacts, "
              + "\(accepted.count - firstContacts) of \(regulars.count) returning clients incl. warm-up) in "
              + "\(sessions) SMTP attempts; \(kills) kill -9 (\(killsWithLiveGPG) with gpg processes alive after the "
              + "kill, \(killsWithSpooledMail) with mail in the spool); restarts found \(stale.found) stale gpg "
              + "processes, ended \(stale.terminated); \(daemon.logLines(containing: "transient engine failure")) "
              + "transient retries, \(daemon.logLines(containing: "outcome=duplicate")) duplicates suppressed, "
              + "\(daemon.logLines(containing: "spool recovery removed")) spool recoveries; \(threads.count) threads; "
              + "rejected: \(rejections) audit, \(rejectedKept) kept, \(rejectedLogged) log; prepared in "
              + "\(prepared - started), sent and processed in \(finished - prepared)")
        let unsent = await ledger.remaining
        #expect(unsent == 0, "\(unsent) messages never got a 250")
        #expect(rejections == 0 && rejectedKept == 0 && rejectedLogged == 0)
        #expect(misplaced.isEmpty, "\(misplaced.count) clients: \(misplaced.prefix(5))")
        #expect(threads.count == clients, "\(threads.count) threads for \(clients) clients")
    }

    /// Sends everything in `ledger` over `senders` concurrent SMTP sessions, each message in its own session;
    /// a message without `250` (refused, cut off by a kill, `4xx`) goes back into the ledger and is sent again.
    static func send(_ ledger: SendLedger, port: Int, senders: Int) async {
        let smtp = SMTPClient(configuration: SMTPClientConfiguration(
            host: "127.0.0.1", port: port, tlsMode: .none, heloName: "kills.test", stepTimeout: .seconds(60)))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<senders {
                group.addTask {
                    while let next = await ledger.next() {
                        guard let sender = try? EmailAddress(next.client),
                            let recipient = try? EmailAddress(Self.counselling)
                        else { continue }
                        let result = await smtp.deliver(
                            OutboundEnvelope(reversePath: .mailbox(sender), recipients: [recipient]),
                            message: ByteBuffer(string: next.bytes))
                        await ledger.finished(next, accepted: result.isDelivered)
                        if !result.isDelivered { try? await Task.sleep(for: .milliseconds(100)) }
                    }
                }
            }
        }
    }

    /// Waits until nothing waits in the ledger's senders and the spool is empty for a moment.
    static func waitUntilProcessed(_ daemon: GatewayDaemon, _ process: Process, timeout: Duration) async throws
        -> Bool
    {
        let deadline = ContinuousClock.now + timeout
        var quiet = 0
        while ContinuousClock.now < deadline, process.isRunning {
            quiet = daemon.spooled == 0 ? quiet + 1 : 0
            if quiet >= 5 { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Sums "stale gpg processes: N, terminated: M" over the start-up log lines of every run.
    static func staleProcessCounts(_ log: String) -> (found: Int, terminated: Int) {
        var found = 0, terminated = 0
        for line in log.split(separator: "\n") where line.contains("GnuPG home claimed") {
            func number(after label: String) -> Int {
                guard let range = line.range(of: label) else { return 0 }
                return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
            }
            found += number(after: "stale gpg processes: ")
            terminated += number(after: "terminated: ")
        }
        return (found, terminated)
    }

    static func rfc5322Date() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: Date())
    }
}

/// What the senders still have to send, what got `250`, and how many SMTP attempts there were.
actor SendLedger {
    private var queue: [DaemonKeyringKillTests.Outgoing]
    private var inFlight = 0
    private(set) var accepted: [DaemonKeyringKillTests.Outgoing] = []
    private(set) var attempts = 0

    init(_ messages: [DaemonKeyringKillTests.Outgoing]) { queue = messages.reversed() }

    var isDone: Bool { queue.isEmpty && inFlight == 0 }
    var remaining: Int { queue.count + inFlight }

    /// The next message to send, or nil once everything got `250`. Waits while others' attempts may still fail.
    func next() async -> DaemonKeyringKillTests.Outgoing? {
        while queue.isEmpty {
            guard inFlight > 0 else { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        inFlight += 1
        attempts += 1
        return queue.removeLast()
    }

    func finished(_ message: DaemonKeyringKillTests.Outgoing, accepted: Bool) {
        inFlight -= 1
        if accepted { self.accepted.append(message) } else { queue.insert(message, at: 0) }
    }
}
