import Foundation
import MailBridge
import PGPShim
import TestSupport

/// The clients of ``MIMEDifferentialTests``: one gpg key (most messages), Sequoia's `sqop` and RNP (every 20th
/// message each), all known to the gateway. Each encrypts and signs an inner message to the gateway.
struct DifferentialSigners {
    static let gpgAddress = "klient@example.net", sqopAddress = "sq@example.net", rnpAddress = "rnp@example.net"
    static let outerSubject = "..."

    private let harness: PipelineHarness
    private let gpgKey: KeyFingerprint
    private let rnpKey: KeyFingerprint
    private let sqopKey: URL
    private let gatewayCert: URL
    private let rnpHome: URL

    init(harness: PipelineHarness) async throws {
        self.harness = harness
        let client = harness.client
        gpgKey = try client.makeKey(Self.gpgAddress)
        rnpKey = try client.makeKey(Self.rnpAddress)
        _ = try await harness.pgp.importPublicKeys(try client.gpg(["--export", gpgKey.hex, rnpKey.hex]).stdout)

        (gatewayCert, sqopKey, rnpHome) = try await harness.makeThirdPartySigners(
            folder: "differential-keys", sqopUserID: "Klient <\(Self.sqopAddress)>", rnpKey: rnpKey)
    }

    /// Signs and encrypts `inner` to the gateway: (sender address, armored message).
    func encrypt(_ inner: [UInt8], index: Int) throws -> (String, String) {
        switch index % 20 {
        case 7:
            let armored = try Shell.run("sqop", ["encrypt", "--sign-with=\(sqopKey.path)", gatewayCert.path],
                                        stdin: inner).stdout.text
            return (Self.sqopAddress, armored)
        case 13:
            let armored = try Shell.run("rnp", ["--homedir", rnpHome.path, "--password", "", "--encrypt", "--sign",
                                                "-u", rnpKey.hex, "-r", harness.gateway.hex, "--armor"],
                                        stdin: inner).stdout.text
            return (Self.rnpAddress, armored)
        default:
            let armored = try harness.client.gpg(["--armor", "--sign", "--local-user", gpgKey.hex, "--encrypt",
                                                  "--recipient", harness.gateway.hex], stdin: inner).stdout.text
            return (Self.gpgAddress, armored)
        }
    }

    /// The outer PGP/MIME mail (RFC 3156 §4) around `armored`, with Thunderbird's outer Subject "...".
    static func outer(from sender: String, armored: String, messageID: String) -> String {
        "From: Klient <\(sender)>\r\nTo: \(PipelineHarness.counselling)\r\nSubject: \(outerSubject)\r\n"
            + "Message-ID: \(messageID)\r\nDate: Mon, 1 Dec 2026 10:00:00 +0100\r\n"
            + PGPMIMEWrapper.wrap(armored, headers: "", style: 0, fileCanary: "")
    }
}
