// Instruction counts for the CPU-bound parts (issue 24), run under `valgrind --tool=callgrind` by
// scripts/bench-callgrind. Each part runs N messages through one `counted…` function; the script collects only
// inside it (`--collect-atstart=no --toggle-collect='*counted<Part>*'`), so setup, warm-up and the Swift runtime's
// start are not counted, and divides by N: instructions per message, the same whatever else the machine does.
// Inputs are synthetic and the same every run (no clock, no UUID); the script sets SWIFT_DETERMINISTIC_HASHING.
// The `…Work` functions differ in their parameters on purpose: with identical loops the optimiser merged
// countedSeal and countedSMTP into one body behind two jump thunks, and callgrind's toggle never fired.
//
//   CallgrindBenchmark mime|smtp|seal|pgp [messages]
//     mime  MIMEParser.parse + MessageClassifier.classify of a 4 KB plain mail and a PGP/MIME mail (N of each)
//     smtp  SMTPCommandParser over one transaction's commands + DataReader over a 4 KB message, line by line
//     seal  ThreadStore's sealing of one imported message (data key wrap, Message-ID, subject, 4 KB body) and open
//     pgp   PGPShim's GPGContext.decryptAndVerify of a signed+encrypted 4 KB message in one context; gpg itself
//           runs in its own process, which callgrind does not follow: this is PGPShim's and gpgme's overhead
//           (valgrind 3.19 crashes in this process, see scripts/bench-callgrind; it runs natively)
import Foundation
import MailBridge
import NIOCore
import PGPShim
@_spi(Benchmarks) import ThreadStore
import TestSupport

let arguments = CommandLine.arguments
guard arguments.count >= 2, ["mime", "smtp", "seal", "pgp"].contains(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: CallgrindBenchmark mime|smtp|seal|pgp [messages]\n".utf8))
    exit(64)
}
let part = arguments[1]
let count = arguments.count > 2 ? Int(arguments[2]) ?? 100 : 100
let warmUp = 3

let lorem = String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", count: 70)
let bodyLines = stride(from: 0, to: lorem.count, by: 72).map { offset -> String in
    let start = lorem.index(lorem.startIndex, offsetBy: offset)
    return String(lorem[start..<(lorem.index(start, offsetBy: 72, limitedBy: lorem.endIndex) ?? lorem.endIndex)])
}
let plainMail = Array(("From: klient@example.net\r\nTo: beratung@example.org\r\nSubject: Frage\r\n"
    + "Message-ID: <fixed-1@example.net>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + bodyLines.joined(separator: "\r\n") + "\r\n").utf8)
let armor = "-----BEGIN PGP MESSAGE-----\r\n\r\n"
    + String(repeating: String(repeating: "hQEMA8xYz0123456789abcdefABCDEF+/", count: 2) + "\r\n", count: 80)
    + "=abcd\r\n-----END PGP MESSAGE-----\r\n"
let pgpMail = Array(("From: klient@example.net\r\nTo: beratung@example.org\r\nSubject: ...\r\n"
    + "Message-ID: <fixed-2@example.net>\r\nMIME-Version: 1.0\r\n"
    + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n"
    + "--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
    + "--b\r\nContent-Type: application/octet-stream\r\n\r\n" + armor + "--b--\r\n").utf8)

// MARK: mime

@inline(never) func mimeWork(_ raw: [UInt8]) -> Int {
    guard let message = try? MIMEParser().parse(raw) else { fatalError("parse failed") }
    switch MessageClassifier.classify(message) {
    case .plain: return 1
    case .pgpMIME(let payload): return payload.count
    case .inlinePGP(let armored): return armored.count
    case .quarantine(let reason): fatalError("quarantined: \(reason)")
    }
}
@inline(never) func countedMIME(_ messages: Int) -> Int {
    var total = 0
    for _ in 0..<messages { total &+= mimeWork(plainMail) &+ mimeWork(pgpMail) }
    return total
}

// MARK: smtp

let commandLines = [
    "EHLO client.example.net", "MAIL FROM:<klient@example.net> SIZE=4096", "RCPT TO:<beratung@example.org>", "DATA",
].map { ByteBuffer(string: $0 + "\r\n") }
let dataLines = (String(decoding: plainMail, as: UTF8.self).components(separatedBy: "\r\n").dropLast() + ["."])
    .map { ByteBuffer(string: $0 + "\r\n") }
@inline(never) func smtpWork(_ dataLines: [ByteBuffer]) -> Int {
    let parser = SMTPCommandParser(maximumLineLength: 640)
    var total = 0
    for line in commandLines {
        guard let command = try? parser.parse(line) else { fatalError("command refused") }
        total &+= String(describing: command).count
    }
    var reader = DataReader(maximumMessageSize: 1 << 20, maximumLineLength: 1000, maximumHeaderSize: 64 << 10)
    for line in dataLines {
        switch reader.consume(line, endsLine: true) {
        case .content(let bytes): total &+= bytes.readableBytes
        case .endOfData: total &+= 1
        }
    }
    guard reader.isFinished, reader.rejection == nil else { fatalError("data refused") }
    return total
}
@inline(never) func countedSMTP(_ messages: Int) -> Int {
    var total = 0
    for _ in 0..<messages { total &+= smtpWork(dataLines) }
    return total
}

// MARK: seal

let sealing = SealingBenchmark(masterKey: .generate())
let sealBody = Array(lorem.utf8)
@inline(never) func sealWork(_ subject: String, _ body: [UInt8]) -> Int {
    guard let bytes = try? sealing.sealAndOpen(subject: subject, body: body) else { fatalError() }
    return bytes
}
@inline(never) func countedSeal(_ messages: Int) -> Int {
    var total = 0
    for _ in 0..<messages { total &+= sealWork("Frage zur Beratung", sealBody) }
    return total
}

// MARK: pgp

@Sendable @inline(never) func pgpWork(_ context: GPGContext, _ ciphertext: [UInt8]) throws -> Int {
    guard case .decrypted = try context.decryptAndVerify(ciphertext) else { fatalError("decrypt") }
    return 1
}
@Sendable @inline(never) func countedPGP(_ context: GPGContext, _ ciphertexts: [[UInt8]]) throws -> Int {
    var total = 0
    for ciphertext in ciphertexts { total &+= try pgpWork(context, ciphertext) }
    return total
}

var checksum = 0
switch part {
case "mime":
    for _ in 0..<warmUp { checksum &+= mimeWork(plainMail) &+ mimeWork(pgpMail) }
    checksum &+= countedMIME(count)
case "smtp":
    for _ in 0..<warmUp { checksum &+= smtpWork(dataLines) }
    checksum &+= countedSMTP(count)
case "seal":
    for _ in 0..<warmUp { checksum &+= sealWork("Frage zur Beratung", sealBody) }
    checksum &+= countedSeal(count)
default:
    let root = URL(fileURLWithPath: "/tmp/mb-callgrind-\(getpid())")
    let client = try GnuPGClient(home: root.appendingPathComponent("cl"))
    let gatewayHome = root.appendingPathComponent("gw")
    defer {
        client.kill()
        _ = try? Shell.runLean("gpgconf", ["--homedir", gatewayHome.path, "--kill", "all"])
        try? FileManager.default.removeItem(at: root)
    }
    let service = try PGPService(configuration: PGPConfiguration(homeDirectory: gatewayHome,
                                                                 maximumConcurrentOperations: 1))
    let gateway = try await service.generateKey(userID: "Bench <bench@example.org>")
    let signer = try client.makeKey("c@example.net").hex
    _ = try await service.importPublicKeys(try client.gpg(["--export", signer]).stdout)
    try client.gpg(["--import"], stdin: try await service.exportPublicKey(gateway))
    // The same plaintext every time; gpg's session keys differ, the sizes and the work do not.
    var ciphertexts: [[UInt8]] = []
    for _ in 0..<(count + warmUp) {
        ciphertexts.append(try client.gpg(["--sign", "--local-user", signer, "--encrypt", "--recipient", gateway.hex],
                                          stdin: sealBody).stdout)
    }
    let prepared = ciphertexts
    checksum = try await service.withContext { context in
        var total = 0
        for ciphertext in prepared.prefix(warmUp) { total &+= try pgpWork(context, ciphertext) }
        return total &+ (try countedPGP(context, Array(prepared.dropFirst(warmUp))))
    }
    try await service.shutdown()
}
print("\(part): \(count) messages counted (checksum \(checksum))")
