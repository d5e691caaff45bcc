import Foundation
import Logging
@testable import MailBridge
@testable import PGPShim
import TestSupport
import Testing
import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// Issue 28 item 1 ("a killed agent"): while the pipeline runner decrypts returning clients' messages and imports
/// first contacts' keys with the real gpg, the gateway home's `gpg-agent` and the gpg processes working on it are
/// killed with SIGKILL again and again. Every such failure says nothing about a message: it must be retried (by
/// the pipeline, then by the runner's deferral), never end as `rejected-encrypted` nor be held, and every message
/// ends imported into its client's thread once the killing stops.
///
/// `MB_AGENT_KILL_MESSAGES=<count>` sets the number of messages (default 300: with fewer, all may be done before a
/// kill hits a decryption; with one gpg run per message, 150 were done in 8 s and no kill hit a gpg run).
@Suite(.serialized) struct AgentKillTests {
    static var count: Int {
        max(12, ProcessInfo.processInfo.environment["MB_AGENT_KILL_MESSAGES"].flatMap(Int.init) ?? 300)
    }

    @Test(.timeLimit(.minutes(6))) func killedAgentsAndGPGProcessesAreRetriedNotRejected() async throws {
        let started = ContinuousClock.now
        let harness = try await PipelineHarness()
        let tag = UUID().uuidString.prefix(6).lowercased()
        let regulars = (0..<4).map { "stamm\($0)-\(tag)@example.net" }
        let newcomers = (0..<(Self.count / 3)).map { "neu\($0)-\(tag)@example.net" }
        let keys = try harness.client.makeKeys(regulars + newcomers)
        try #require(keys.count == regulars.count + newcomers.count)
        for address in regulars {
            _ = try await harness.pgp.importPublicKeys(try harness.client.gpg(["--export", keys[address]!.hex]).stdout)
        }
        let intake = try SpoolIntake(root: harness.root.appendingPathComponent("intake"))
        var expected: [String: Int] = [:]
        for index in 0..<Self.count {
            let firstContact = index % 3 == 0 && index / 3 < newcomers.count
            let address = firstContact ? newcomers[index / 3] : regulars[index % regulars.count]
            let key = keys[address]!
            let armored = try harness.client.gpg(["--armor", "--sign", "--local-user", key.hex, "--encrypt",
                                                  "--recipient", harness.gateway.hex, "--recipient", key.hex],
                                                 stdin: Array("Nachricht \(index)".utf8)).stdout
            var raw = RejectedMessageTests.mail(from: address, subject: "...", ciphertext: armored,
                                                id: "a\(index)-\(tag)")
            if firstContact {
                let keydata = Data(try harness.client.gpg(["--export", "--export-options", "export-minimal",
                                                           key.hex]).stdout).base64EncodedString()
                let header = "Autocrypt: addr=\(address); keydata=\(keydata)\n"
                raw = raw.replacingOccurrences(of: "MIME-Version: 1.0\n", with: header + "MIME-Version: 1.0\n")
            }
            try await PipelineHarness.spool(raw, from: address, to: PipelineHarness.counselling, into: intake)
            expected[address, default: 0] += 1
        }
        let prepared = ContinuousClock.now

        // The killer: every 30–200 ms for 15 s, SIGKILL to the home's gpg-agent or to every gpg process bound to
        // the home.
        let home = harness.root.appendingPathComponent("gw").path
        let killer = Killer(home: home, duration: .seconds(15))
        let killing = Thread { killer.run() }
        killing.start()
        let runner = PipelineRunner(spool: intake, pipeline: harness.pipeline, logger: harness.logs.logger("runner"),
                                    concurrency: 2)
        let deadline = ContinuousClock.now + .seconds(240)
        var rounds = 0
        // Once the killing has ended, the messages the runner deferred go through.
        while try !intake.pending().isEmpty, ContinuousClock.now < deadline {
            await runner.drain()
            rounds += 1
            if try !intake.pending().isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        killer.stop()
        while !killer.stopped { try await Task.sleep(for: .milliseconds(10)) }
        let processed = ContinuousClock.now

        let rejections = try await harness.store.read {
            try $0.latestAuditEntries(AuditFilter(), limit: 500).filter { $0.event == .inboundEncryptedRejected }
        }.count
        let rejectedLogged = harness.logs.all.filter { $0.contains("rejected-encrypted") }
        let retried = harness.logs.all.filter { $0.contains("transient engine failure; retrying") }
        let retries = retried.count
        let deferred = harness.logs.all.filter { $0.contains("failed in the engine; message kept in the spool") }.count
        let otherFailures = harness.logs.all.filter {
            $0.contains("inbound processing failed") && !$0.contains("failed in the engine")
        }
        // The distinct causes of the retries (error descriptions of PGPShim carry no content).
        var causes: [String: Int] = [:]
        for line in retried {
            let cause = line.range(of: "\"error\": ").map { String(line[$0.upperBound...].prefix(90)) } ?? line
            causes[cause, default: 0] += 1
        }
        let threads = try await harness.store.read { tx in
            try tx.listThreads(field: harness.mailbox.field, limit: 500).map { try tx.openThread($0.id) }
        }
        var stored: [String: Int] = [:]
        var unkeyed: [String] = []
        for thread in threads {
            let address = thread.clientAddress.unredactedDescription
            stored[address, default: 0] += thread.messages.filter { $0.direction == .inbound }.count
            if thread.clientKey?.hex != keys[address]?.hex { unkeyed.append(address) }
        }
        print("agent kills: \(Self.count) messages (\(newcomers.count) first contacts), \(killer.agentKills) "
              + "gpg-agent and \(killer.gpgKills) gpg processes killed; \(retries) pipeline retries, \(deferred) "
              + "runner deferrals, \(otherFailures.count) other failures, \(rejectedLogged.count) rejected; "
              + "\(rounds) drain rounds; prepared in \(prepared - started), processed in \(processed - prepared); "
              + "retry causes: \(causes.sorted { $0.value > $1.value }.prefix(6))")
        #expect(otherFailures.isEmpty, "\(otherFailures.prefix(3))")
        if try !intake.pending().isEmpty {  // what the killing left in the home, for the failure report
            let files = (try? FileManager.default.contentsOfDirectory(atPath: home))?.sorted() ?? []
            let sizes = files.map { name in
                let size = (try? FileManager.default.attributesOfItem(atPath: home + "/" + name))?[.size] as? Int
                return "\(name):\(size ?? -1)"
            }
            print("agent kills: the gateway home after the run: \(sizes)")
        }
        #expect(killer.agentKills > 0 && killer.gpgKills > 0, "the kills never hit a running gpg or agent")
        // Not required: `retries + deferred > 0`. A gpg killed mid-decryption is mostly retried inside
        // `PGPService.decryptAndVerify` (unfinished runs), which the pipeline does not see; the count is printed.
        #expect(rejections == 0 && rejectedLogged.isEmpty, "\(rejectedLogged.prefix(3))")
        #expect(try await harness.store.read { try $0.listRejected() }.isEmpty)
        #expect(try intake.pending().isEmpty)
        #expect(stored == expected, "\(threads.count) threads; stored \(stored.values.reduce(0, +)) of \(Self.count)")
        // One thread per client, bound to the client's key (a key import lost to a kill would leave a first
        // contact's message in a thread without key).
        #expect(threads.count == expected.count)
        // A key import, listing or look-up cut by a kill is unfinished or a contradiction, never "no key"
        // (UnfinishedImportTests, KilledKeyImportTests): no first contact ends in a thread without its key.
        let keptWithoutKey = harness.logs.all.filter { $0.contains("kept without a client key") }
        #expect(unkeyed.isEmpty, "threads without the client's key: \(unkeyed); \(keptWithoutKey.prefix(3))")
        await harness.close()
    }
}

/// Kills the gpg-agent of one GnuPG home, or the gpg processes bound to it, at random moments until stopped.
private final class Killer: @unchecked Sendable {
    let home: String
    private let lock = NSLock()
    private var stopping = false
    private var ended = false
    private(set) var agentKills = 0
    private(set) var gpgKills = 0

    let duration: Duration

    init(home: String, duration: Duration) {
        self.home = home
        self.duration = duration
    }

    func stop() { lock.withLock { stopping = true } }
    var stopped: Bool { lock.withLock { ended } }

    func run() {
        var generator = SystemRandomNumberGenerator()
        var agentTurn = false
        let end = ContinuousClock.now + duration
        // After `duration`, only the gpg turns go on, until one hit a gpg run or the test stops the killer.
        while !lock.withLock({ stopping }), ContinuousClock.now < end || gpgKills == 0 {
            usleep(UInt32.random(in: 30_000...200_000, using: &generator))
            agentTurn = ContinuousClock.now < end ? !agentTurn : false
            if agentTurn {
                for pid in Self.agents(of: home) where kill(pid, SIGKILL) == 0 { agentKills += 1 }
            } else {
                // A gpg run lasts a few tens of milliseconds and there is one per message (the in-process unwrap
                // took the second): look for one for up to a second rather than once, or the turn mostly misses
                // (a CI run with 200 ms turns hit none). The scan reads only `comm` until a name matches.
                let until = ContinuousClock.now + .seconds(1)
                repeat {
                    let running = Self.gpgProcesses(of: home)
                    for pid in running where kill(pid, SIGKILL) == 0 { gpgKills += 1 }
                    if !running.isEmpty { break }
                    usleep(500)
                } while ContinuousClock.now < until && !lock.withLock({ stopping })
            }
        }
        lock.withLock { ended = true }
    }

    /// `gpg … --homedir <home> …` processes, found quickly (each process's `comm`, and the command line only of
    /// those so named: reading a busy process's command line waits for its memory map), so that a run of a few
    /// milliseconds can be hit.
    static func gpgProcesses(of home: String) -> [pid_t] {
        processes(named: "gpg", home: home)
    }

    /// `gpg-agent --homedir <home> …` processes (as gpg starts them).
    static func agents(of home: String) -> [pid_t] {
        processes(named: "gpg-agent", home: home)
    }

    private static func processes(named name: String, home: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), Self.command(of: entry) == name,
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), data.count <= 65_536
            else { return nil }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.first.map({ URL(fileURLWithPath: $0).lastPathComponent }) == name,
                zip(arguments, arguments.dropFirst()).contains(where: { $0 == "--homedir" && $1 == home })
            else { return nil }
            return pid
        }
    }

    /// The process's name as the kernel keeps it (`/proc/PID/comm`, at most 15 bytes), read with one `read(2)`.
    private static func command(of entry: String) -> String? {
        let descriptor = open("/proc/\(entry)/comm", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].prefix { $0 != 10 }, as: UTF8.self)
    }
}
