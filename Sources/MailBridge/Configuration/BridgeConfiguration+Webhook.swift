// Security: `[webhook]` names where the gateway tells the organisation's platform of thread events (issue 29): an
// https:// URL, the file holding the signing secrets (never a secret itself), and optionally a CA file for a
// platform behind a private CA. The events carry no content; the platform fetches content through the API.

import Foundation

// Issue 29: `[webhook]`, pushed events.
extension BridgeConfiguration {
    /// `[webhook]`: the platform's endpoint for signed event notifications (Standard Webhooks). Absent: no events.
    public struct Webhook: Sendable, Equatable {
        /// `url` (required): an `https://` URL without user, password or fragment.
        public var url: String
        /// `secret-file` (required): a file with one signing secret per line (`whsec_` and Base64 of 24 to 64
        /// random octets, as `mailbridge webhooks new-secret` prints); every attempt is signed with each, so a
        /// platform can change its secret without losing a request (Standard Webhooks, "Signature scheme").
        public var secretFile: AbsolutePath
        /// `ca-file`: PEM trust roots for the platform's certificate (a private CA). Default: the system's roots.
        public var caFile: AbsolutePath?
        /// `timeout-seconds`, 1 to 60, default 10: how long one attempt may take, connection included.
        public var timeoutSeconds: Int = 10
        /// `retry-hours`, 1 to 720, default 72: how long an event is retried before it is given up (`failed`;
        /// `mailbridge webhooks retry` puts it back).
        public var retryHours: Int = 72

        public init(url: String, secretFile: AbsolutePath) {
            self.url = url
            self.secretFile = secretFile
        }
    }

    /// Reads `[webhook]`; nil when the section is absent or invalid (then reported).
    static func readWebhook(_ section: ConfigurationReader.Section, reader: ConfigurationReader) -> Webhook? {
        let expected = "an https:// URL without user, password or fragment, with a port from 1 to 65535 if any"
        let url = reader.string(section, "url", expected: expected)
        let secretFile = reader.path(section, "secret-file", required: section.table != nil)
        let caFile = reader.path(section, "ca-file")
        let timeout = reader.integer(section, "timeout-seconds", default: 10, range: 1...60, unit: "seconds")
        let retryHours = reader.integer(section, "retry-hours", default: 72, range: 1...720, unit: "hours")
        reader.finish(section)
        guard section.table != nil else { return nil }
        guard let url, Self.isWebhookURL(url) else {
            reader.report(url == nil ? .missingOption : .invalidValue, section.optionPath("url"), expected: expected)
            return nil
        }
        guard let secretFile else { return nil }
        var webhook = Webhook(url: url, secretFile: secretFile)
        webhook.caFile = caFile
        webhook.timeoutSeconds = timeout
        webhook.retryHours = retryHours
        return webhook
    }

    static func isWebhookURL(_ text: String) -> Bool {
        guard text.count <= 2048, let url = URL(string: text), url.scheme == "https", let host = url.host,
            !host.isEmpty, url.user == nil, url.password == nil, url.fragment == nil,
            url.port.map({ (1...65535).contains($0) }) ?? true
        else { return false }
        return true
    }

    /// The `[webhook]` lines of ``tomlText``.
    func webhookTOMLLines() -> [String] { webhook.map { Self.webhookTOMLLines($0, table: "webhook") } ?? [] }

    /// The lines of one webhook table (`[webhook]` or `[organisation.webhook]`).
    static func webhookTOMLLines(_ webhook: Webhook, table: String) -> [String] {
        var lines = ["", "[\(table)]", "url = \(Self.quoted(webhook.url))",
                     "secret-file = \(Self.quoted(webhook.secretFile.string))"]
        if let caFile = webhook.caFile { lines.append("ca-file = \(Self.quoted(caFile.string))") }
        lines += ["timeout-seconds = \(webhook.timeoutSeconds)", "retry-hours = \(webhook.retryHours)"]
        return lines
    }
}
