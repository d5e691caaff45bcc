// Security: a webhook signing secret is key material. It is read from the file `[webhook] secret-file` names, kept
// as a `SymmetricKey` (zeroed when released), and never printed: its description is redacted. A malformed line is
// reported by its line number only.

public import Crypto
public import Foundation

/// One Standard Webhooks signing secret: `whsec_` and the Base64 of 24 to 64 random octets.
public struct WebhookSecret: Sendable, CustomStringConvertible {
    /// The key HMAC-SHA256 signs with.
    public let key: SymmetricKey

    /// The prefix the specification gives secrets, so that they are recognised when pasted.
    public static let prefix = "whsec_"
    static let octets = 24...64

    /// Parses a secret; nil if it is not `whsec_` and Base64 of 24 to 64 octets.
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix),
            let octets = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))),
            Self.octets.contains(octets.count)
        else { return nil }
        key = SymmetricKey(data: octets)
    }

    /// A new random secret (32 octets), as text to put into the secret file and give to the platform.
    public static func generate() -> String {
        prefix + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    public var description: String { "WebhookSecret(<redacted>)" }
}

/// The secrets of the secret file, every one of which signs each attempt (rotation: add the new secret, let the
/// platform switch, remove the old one).
public struct WebhookSecrets: Sendable, CustomStringConvertible {
    public let secrets: [WebhookSecret]

    /// Why a secret file cannot be used; says the file and the line, never a secret.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ secrets: [WebhookSecret]) { self.secrets = secrets }

    /// The secrets of `text`: one per line; blank lines and lines starting with `#` are skipped; at most 10.
    public static func parse(_ text: String, file: String) throws(Problem) -> WebhookSecrets {
        var secrets: [WebhookSecret] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let secret = WebhookSecret(trimmed) else {
                throw Problem(description: "\(file), line \(number + 1): not a webhook secret (expected whsec_ and "
                              + "the Base64 of 24 to 64 octets, as `mailbridge webhooks new-secret` prints)")
            }
            secrets.append(secret)
        }
        guard !secrets.isEmpty else { throw Problem(description: "\(file): no webhook secret in the file") }
        guard secrets.count <= 10 else { throw Problem(description: "\(file): more than 10 webhook secrets") }
        return WebhookSecrets(secrets)
    }

    /// Reads and parses `path`.
    public static func load(_ path: String) throws(Problem) -> WebhookSecrets {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Problem(description: "\(path): cannot read the webhook secret file")
        }
        return try parse(text, file: path)
    }

    public var description: String { "WebhookSecrets(\(secrets.count))" }
}
