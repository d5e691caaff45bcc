import Foundation
import MailBridge
import TestSupport

/// Test mail as a client's OpenPGP program writes it, made with the real gpg CLI.
enum EncryptedTestMail {
    /// A PGP/MIME mail (RFC 3156) from `from` to `to`: the inner entity `inner` (its headers, a blank line, its
    /// body) signed by `clientKey` and encrypted to `gatewayKey`, the client's minimal key in an Autocrypt header,
    /// CRLF line ends.
    static func pgpMIME(client: GnuPGClient, from: String, to: String, clientKey: KeyFingerprint,
                        gatewayKey: KeyFingerprint, inner: String, messageID: String) throws -> String {
        let armored = try client.gpg(["--armor", "--sign", "--local-user", clientKey.hex, "--encrypt",
                                      "--recipient", gatewayKey.hex], stdin: Array(inner.utf8)).stdout.text
        let keydata = Data(try client.gpg(["--export", "--export-options", "export-minimal", clientKey.hex]).stdout)
            .base64EncodedString()
        return """
            From: \(from)\r
            To: \(to)\r
            Subject: ...\r
            Message-ID: \(messageID)\r
            Autocrypt: addr=\(from); keydata=\(keydata)\r
            MIME-Version: 1.0\r
            Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b1"\r
            \r
            --b1\r
            Content-Type: application/pgp-encrypted\r
            \r
            Version: 1\r
            \r
            --b1\r
            Content-Type: application/octet-stream; name="encrypted.asc"\r
            \r
            \(armored.replacingOccurrences(of: "\n", with: "\r\n"))\r
            --b1--\r

            """
    }
}
