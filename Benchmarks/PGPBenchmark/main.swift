// Decrypt+verify throughput: PGPShim (gpgme) against spawning `gpg --decrypt` once per message, on the same
// messages, keyring and machine, in one run. Prints operations per second and the ratio PGPShim / gpg CLI.
//
//   swift run -c release PGPBenchmark [messages] [bytes-per-message]
import Foundation
import PGPShim

let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 100 : 100
let size = arguments.count > 2 ? Int(arguments[2]) ?? 4096 : 4096

func run(_ tool: String, _ args: [String], stdin: Data = Data()) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + args
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    input.fileHandleForWriting.write(stdin)
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw NSError(domain: "bench", code: Int(process.terminationStatus)) }
    return data
}

let root = URL(fileURLWithPath: "/tmp/mb-bench-\(getpid())")
let gatewayHome = root.appendingPathComponent("gw"), clientHome = root.appendingPathComponent("cl")
try FileManager.default.createDirectory(at: clientHome, withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o700])
defer {
    for home in [gatewayHome, clientHome] { _ = try? run("gpgconf", ["--homedir", home.path, "--kill", "all"]) }
    try? FileManager.default.removeItem(at: root)
}
let client = ["--homedir", clientHome.path, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", "",
              "--trust-model", "always"]

let service = try PGPService(configuration: PGPConfiguration(homeDirectory: gatewayHome, maximumConcurrentOperations: 2))
let gateway = try await service.generateKey(userID: "Bench <bench@example.org>")
_ = try run("gpg", client + ["--quick-gen-key", "Client <c@example.net>", "ed25519", "sign,cert", "never"])
let listing = String(decoding: try run("gpg", client + ["--with-colons", "--list-keys"]), as: UTF8.self)
let clientFpr = String(listing.split(separator: "\n").first { $0.hasPrefix("fpr:") }!
    .split(separator: ":", omittingEmptySubsequences: false)[9])
_ = try run("gpg", client + ["--quick-add-key", clientFpr, "cv25519", "encr", "never"])
_ = try await service.importPublicKeys(Array(try run("gpg", client + ["--export", clientFpr])))
_ = try run("gpg", client + ["--import"], stdin: Data(try await service.exportPublicKey(gateway)))

print("preparing \(count) signed+encrypted messages of \(size) bytes …")
var messages: [Data] = []
for index in 0..<count {
    let body = Data((0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ index) % 94 + 33) })
    messages.append(try run("gpg", client + ["--sign", "--local-user", clientFpr, "--encrypt", "--recipient",
                                             gateway.hex], stdin: body))
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
        _ = try run("gpg", ["--homedir", gatewayHome.path, "--batch", "--pinentry-mode", "loopback", "--decrypt"],
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
try await service.shutdown()
