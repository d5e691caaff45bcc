// Security: signs what the gateway sends to the platform, so that the platform can tell the gateway's requests
// from anyone else's. Pure: no I/O.

public import Crypto
public import Foundation

/// The Standard Webhooks signature (https://www.standardwebhooks.com, "Signature scheme"): HMAC-SHA256 over
/// `<webhook-id>.<webhook-timestamp>.<body>` with each secret, Base64, each as `v1,<signature>`, separated by
/// spaces, in the `webhook-signature` header.
///
/// ```swift
/// let header = WebhookSignature.header(id: "0f3c…", timestamp: 1_765_000_000, body: body, secrets: secrets)
/// // "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1,…"
/// ```
public enum WebhookSignature {
    /// The signature of one secret, Base64.
    public static func signature(id: String, timestamp: Int64, body: [UInt8], key: SymmetricKey) -> String {
        var mac = HMAC<SHA256>(key: key)
        mac.update(data: Array("\(id).\(timestamp).".utf8))
        mac.update(data: body)
        return Data(mac.finalize()).base64EncodedString()
    }

    /// The `webhook-signature` header value: one `v1,` signature per secret.
    public static func header(id: String, timestamp: Int64, body: [UInt8], secrets: WebhookSecrets) -> String {
        secrets.secrets.map { "v1," + signature(id: id, timestamp: timestamp, body: body, key: $0.key) }
            .joined(separator: " ")
    }
}
