import Crypto

/// OpenPGP Web Key Directory (draft-koch-openpgp-webkey-service): where a mail address's key is published so
/// that Thunderbird and `gpg --locate-keys` find it.
public enum WebKeyDirectory {
    /// The z-base-32 alphabet (RFC 6189 §5.1.6).
    private static let alphabet = Array("ybndrfg8ejkmcpqxot1uwisza345h769".utf8)

    /// The WKD hash of a local part: SHA-1 over the local part with ASCII letters lower-cased, z-base-32 encoded
    /// (32 characters). Non-ASCII characters are left as they are, as the draft requires.
    public static func hashedLocalPart(_ localPart: String) -> String {
        let lowered = localPart.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
        return zBase32(Array(Insecure.SHA1.hash(data: lowered)))
    }

    /// z-base-32 without padding (RFC 6189 §5.1.6): 5 bits per character, most significant first.
    public static func zBase32(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1F)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1F)]) }
        return String(decoding: output, as: UTF8.self)
    }

    /// The two publication methods of the draft (§3.1).
    public enum Method: Sendable, CaseIterable {
        /// Served by `openpgpkey.<domain>`: `.well-known/openpgpkey/<domain>/hu/<hash>`.
        case advanced
        /// Served by `<domain>` itself: `.well-known/openpgpkey/hu/<hash>`.
        case direct
    }

    /// A file to place in a web server's document root for `method`.
    public struct File: Sendable, Hashable {
        /// The host that must serve the file.
        public let host: String
        /// The path below the document root, without a leading slash.
        public let path: String
        public let contents: [UInt8]
    }

    /// The key file and the (empty) policy file for `localPart@domain`. `binaryKey` must be the *unarmored*
    /// public key (draft §3.1: "the key needs to be provided in binary format").
    public static func files(localPart: String, domain: String, binaryKey: [UInt8], method: Method) -> [File] {
        let domain = domain.lowercased()
        let hash = hashedLocalPart(localPart)
        switch method {
        case .advanced:
            let base = ".well-known/openpgpkey/\(domain)"
            return [
                File(host: "openpgpkey.\(domain)", path: "\(base)/hu/\(hash)", contents: binaryKey),
                File(host: "openpgpkey.\(domain)", path: "\(base)/policy", contents: []),
            ]
        case .direct:
            return [
                File(host: domain, path: ".well-known/openpgpkey/hu/\(hash)", contents: binaryKey),
                File(host: domain, path: ".well-known/openpgpkey/policy", contents: []),
            ]
        }
    }
}
