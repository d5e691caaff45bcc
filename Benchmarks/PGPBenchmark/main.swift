// Decrypt+verify throughput: PGPShim (gpgme) against spawning `gpg --decrypt` once per message, on the same
// messages, keyring and machine, in one run. Prints operations per second and the ratio PGPShim / gpg CLI.
//
//   swift run -c release PGPBenchmark [messages] [bytes-per-message]
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

func measure(_ label: String, _ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(count) / seconds
    print(String(format: "%-44@ %8.1f msg/s  (%.2f s)", label as NSString, rate, seconds))
    return rate
}

let baseline = try await measure("gpg --decrypt, one process per message") {
    for message in messages {
        _ = try Shell.runLean("gpg", ["--homedir", gatewayHome.path, "--batch", "--pinentry-mode", "loopback", "--decrypt"],
                    stdin: message)
    }
}
let sequential = try await measure("PGPShim decryptAndVerify, sequential") {
    for message in messages {
        guard case .decrypted = try await service.decryptAndVerify(Array(message)) else { fatalError("decrypt failed") }
    }
}
let reused = try await measure("PGPShim, one context for all messages") {
    let all = messages.map { Array($0) }
    try await service.withContext { context in
        for message in all {
            guard case .decrypted = try context.decryptAndVerify(message) else { fatalError("decrypt failed") }
        }
    }
}
let parallel = try await measure("PGPShim decryptAndVerify, 2 contexts") {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for message in messages {
            group.addTask {
                guard case .decrypted = try await service.decryptAndVerify(Array(message)) else { fatalError() }
            }
        }
        try await group.waitForAll()
    }
}
print(String(format: "ratio PGPShim sequential / gpg CLI: %.2f", sequential / baseline))
print(String(format: "ratio PGPShim one context / gpg CLI: %.2f", reused / baseline))
print(String(format: "ratio PGPShim 2 contexts / gpg CLI: %.2f", parallel / baseline))
print(String(format: "RESULT|PGPShim decrypt+verify sequential vs gpg CLI per message (msg/s)|%.1f|%.1f|%.2f",
             sequential, baseline, sequential / baseline))
print(String(format: "RESULT|PGPShim decrypt+verify 2 contexts vs gpg CLI per message (msg/s)|%.1f|%.1f|%.2f",
             parallel, baseline, parallel / baseline))
try await service.shutdown()
