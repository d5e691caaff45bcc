import Foundation
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 23: what ONE large signed and encrypted PGP/MIME message costs in memory on its way through the real
/// pipeline, measured in a process of its own: the real `mailbridge serve` binary (``GatewayDaemon``), real gpg
/// (the client's side made with the gpg CLI), real SMTP on loopback. The daemon's peak resident set is reset
/// (`/proc/PID/clear_refs` "5", proc(5)) once it is idle; then one message of about ``size`` octets is sent, as
/// `scripts/bench-rss 20 25 pgp` sends each of its 20 (a signed message with a base64 attachment, the client's key
/// offered in an Autocrypt header, so it is decrypted twice: before and after the key import), and the growth of
/// `VmHWM` over the resident set at the reset is the message's cost.
///
/// Before the ciphertext went to a file (`CiphertextFile`), the pipeline held the armored payload, the decoded
/// packets and gpg's plaintext at once (see BENCHMARKS.md, "The ciphertext in a file"). The bound is checked against
/// the old code: it failed there (figures in BENCHMARKS.md).
@Suite(.serialized) struct LargeEncryptedMessageMemoryTests {
    /// The spooled message's size (about): `MB_LARGE_PGP_MIB` MiB, default 25 (as in `scripts/bench-rss`).
    static var size: Int { (ProcessInfo.processInfo.environment["MB_LARGE_PGP_MIB"].flatMap(Int.init) ?? 25) << 20 }
    static let counselling = "beratung@localhost"

    @Test(.timeLimit(.minutes(8))) func oneLargeEncryptedMessageHoldsNoWholeCopyOfItsCiphertext() async throws {
        try #require(GatewayDaemon.isBuilt, "build the mailbridge product first")
        let daemon = try GatewayDaemon(name: "pgp-memory", smtp: """
            max-message-size = \(Self.size + 4 * 1024 * 1024)
            min-data-rate = 0
            """, sections: """
            \(GatewayDaemon.counsellingMailbox)
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
        let address = "gross-\(UUID().uuidString.prefix(6).lowercased())@example.net"
        let key = try client.makeKey(address)
        let message = try Self.message(client: client, from: address, key: key, to: gateway)

        let process = try daemon.launch()
        defer { if process.isRunning { daemon.kill(process) } }
        try #require(try await daemon.waitUntilListening(process), "the gateway did not start")
        try await Task.sleep(for: .seconds(2))
        let pid = process.processIdentifier
        try "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
        let idle = try #require(LargeMessageMemoryTests.status(pid, "VmRSS"))

        let smtp = SMTPClient(configuration: SMTPClientConfiguration(
            host: "127.0.0.1", port: daemon.port, tlsMode: .none, heloName: "memory.test", stepTimeout: .seconds(300)))
        let result = await smtp.deliver(
            OutboundEnvelope(reversePath: .mailbox(try EmailAddress(address)),
                             recipients: [try EmailAddress(Self.counselling)]),
            message: ByteBuffer(bytes: message))
        try #require(result.isDelivered, "the gateway did not accept the message: \(result)")
        let deadline = ContinuousClock.now + .seconds(360)
        while daemon.logLines(containing: "inbound processed") == 0, ContinuousClock.now < deadline, process.isRunning {
            try await Task.sleep(for: .milliseconds(200))
        }
        let peak = try #require(LargeMessageMemoryTests.status(pid, "VmHWM"))
        #expect(try await daemon.stop(process))
        let outcome = daemon.logText.split(separator: "\n").first { $0.contains("inbound processed") }
        #expect(outcome?.contains("imported(") == true, "not imported: \(outcome ?? "not processed")")
        // The ciphertext file has no name: nothing is left beside the spool.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: daemon.incomingSpool.path)) ?? []
        #expect(left.isEmpty, "left in the spool: \(left)")

        let growth = peak - idle
        let messageKiB = message.count / 1024
        print("one \(messageKiB / 1024) MiB PGP/MIME message: idle \(idle / 1024) MiB, peak \(peak / 1024) MiB, "
              + "grew \(growth / 1024) MiB (\(String(format: "%.2f", Double(growth) / Double(messageKiB))) × the message)")
        #expect(growth <= messageKiB * Self.boundTenths / 10,
                "grew \(growth / 1024) MiB for a \(messageKiB / 1024) MiB message")
    }

    /// The bound on the growth, in tenths of the message's size (see BENCHMARKS.md for the figures before and after).
    static let boundTenths = 50

    /// A signed and encrypted PGP/MIME message of about ``size`` octets, CRLF, made as `scripts/bench-rss` makes
    /// its own: protected headers, a short text, an attachment of random octets in base64, the client's key in an
    /// Autocrypt header.
    static func message(client: GnuPGClient, from address: String, key: KeyFingerprint,
                        to gateway: KeyFingerprint) throws -> [UInt8] {
        let random = try FileHandle(forReadingFrom: URL(filePath: "/dev/urandom"))
        defer { try? random.close() }
        let attachment = try random.read(upToCount: size * 100 / 143) ?? Data()
        let base64 = attachment.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn,
                                                                    .endLineWithLineFeed])
        let inner = "Content-Type: multipart/mixed; boundary=\"in\"; protected-headers=\"v1\"\r\n"
            + "Subject: Anhang\r\n\r\n--in\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnbei die Datei.\r\n"
            + "--in\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Disposition: attachment; filename=\"d.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64 + "\r\n--in--\r\n"
        let armored = try client.gpg(["--armor", "--sign", "--local-user", key.hex, "--encrypt",
                                      "--recipient", gateway.hex], stdin: Array(inner.utf8)).stdout
        let keydata = Data(try client.gpg(["--export", "--export-options", "export-minimal", key.hex]).stdout)
            .base64EncodedString()
        let outer = "From: \(address)\r\nTo: \(counselling)\r\nSubject: ...\r\n"
            + "Message-ID: <gross-\(UUID().uuidString)@example.net>\r\n"
            + "Autocrypt: addr=\(address); keydata=\(keydata)\r\n"
            + "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
            + "boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
            + "--b1\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n"
            + String(decoding: armored, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n") + "--b1--\r\n"
        return Array(outer.utf8)
    }
}
