// Decrypt+verify throughput: PGPShim (gpgme) against spawning `gpg --decrypt` once per message, on the same
// messages, keyring and machine, in one run, in alternating rounds (BenchmarkRounds). Prints ROUND lines (msg/s
// per round); scripts/bench-pgp turns them into the median ratio PGPShim / gpg CLI with its minimum and maximum.
//
//   swift run -c release PGPBenchmark [messages] [bytes-per-message]
import BenchmarkRounds
import Foundation
import PGPShim
import TestSupport

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 100 : 100
let size = arguments.count > 2 ? Int(arguments[2]) ?? 4096 : 4096

let root = URL(fileURLWithPath: "/tmp/mb-bench-\(getpid())")
let gatewayHome = root.appendingPathComponent("gw")
let client = try GnuPGClient(home: root.appendingPathComponent("cl"))
defer {
    client.kill()
    _ = try? Shell.runLean("gpgconf", ["--homedir", gatewayHome.path, "--kill", "all"])
    try? FileManager.default.removeItem(at: root)
}

let service = try PGPService(configuration: PGPConfiguration(homeDirectory: gatewayHome, maximumConcurrentOperations: 2))
let gateway = try await service.generateKey(userID: "Bench <bench@example.org>")
let clientFpr = try client.makeKey("c@example.net").hex
_ = try await service.importPublicKeys(try client.gpg(["--export", clientFpr]).stdout)
try client.gpg(["--import"], stdin: try await service.exportPublicKey(gateway))

print("preparing \(count) signed+encrypted messages of \(size) bytes …")
var messages: [Data] = []
for index in 0..<count {
    let body = Data((0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ index) % 94 + 33) })
    messages.append(Data(try client.gpg(["--sign", "--local-user", clientFpr, "--encrypt", "--recipient",
                                         gateway.hex], stdin: Array(body)).stdout))
}

// gpg runs per message (issue 23): 1 when the signature packets are read by the in-process unwrap, 2 when a
// second `--unwrap` run reads them.
var runsPerMessage: [Int: Int] = [:]
for message in messages {
    guard case .decrypted(let decrypted) = try await service.decryptAndVerify(Array(message)) else {
        fatalError("decrypt failed")
    }
    runsPerMessage[decrypted.engineRuns, default: 0] += 1
}
print("gpg runs per message: " + runsPerMessage.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value) messages" }
    .joined(separator: ", "))

// Rounds (issue 24): gpg CLI, PGPShim sequential, one context, 2 contexts, then again, each for about
// MAILBRIDGE_BENCH_ROUND_SECONDS, cycling through the prepared messages. scripts/bench-pgp summarizes the rounds.
let all = messages.map { Array($0) }
@MainActor func gpgOnce(_ index: Int) throws {
    _ = try Shell.runLean("gpg", ["--homedir", gatewayHome.path, "--batch", "--pinentry-mode", "loopback", "--decrypt"],
                          stdin: messages[index % count])
}
@MainActor func shimOnce(_ index: Int) async throws {
    guard case .decrypted = try await service.decryptAndVerify(all[index % count]) else { fatalError("decrypt failed") }
}
let roundSeconds = RoundSchedule.current.seconds
try await alternateRounds(
    sides: [
        ("gpg", { ["gpg": try await rate { try gpgOnce($0) }] }),
        ("sequential", { ["sequential": try await rate { try await shimOnce($0) }] }),
        ("one context", {
            // All messages of the round in one context (one withContext call, no hop per message).
            let batch = all, limit = roundSeconds
            let (done, seconds) = try await service.withContext { context in
                let start = ContinuousClock.now, end = start + .milliseconds(Int64(limit * 1000))
                var done = 0
                repeat {
                    let outcome = try context.decryptAndVerify(batch[done % batch.count])
                    guard case .decrypted = outcome else { fatalError() }
                    done += 1
                } while ContinuousClock.now < end
                return (done, BenchmarkRounds.seconds(since: start))
            }
            return ["one context": Double(done) / seconds]
        }),
        ("2 contexts", {
            // Two operations in flight at once (the pool's size), until the round's time is up.
            let shim = service, batch = all, limit = roundSeconds
            let start = ContinuousClock.now, end = start + .milliseconds(Int64(limit * 1000))
            let done = try await withThrowingTaskGroup(of: Int.self) { group in
                for lane in 0..<2 {
                    group.addTask {
                        var done = 0
                        repeat {
                            let message = batch[(2 * done + lane) % batch.count]
                            guard case .decrypted = try await shim.decryptAndVerify(message) else { fatalError() }
                            done += 1
                        } while ContinuousClock.now < end
                        return done
                    }
                }
                var sum = 0
                for try await done in group { sum += done }
                return sum
            }
            return ["2 contexts": Double(done) / seconds(since: start)]
        }),
    ],
    figures: [
        BenchmarkFigure("PGPShim decrypt+verify sequential vs gpg CLI per message", unit: "msg/s",
                        value: "sequential", baseline: "gpg"),
        BenchmarkFigure("PGPShim decrypt+verify 2 contexts vs gpg CLI per message", unit: "msg/s",
                        value: "2 contexts", baseline: "gpg"),
        BenchmarkFigure("PGPShim one context for all vs gpg CLI per message", unit: "msg/s",
                        value: "one context", baseline: "gpg"),
    ]
)
try await service.shutdown()
