public import Foundation

/// A fixed mail text from configuration: a subject and a body with the placeholders `{{link}}` and
/// `{{reference}}`. There is deliberately no initializer from arbitrary strings: templates come from the
/// built-ins or from an operator's template file, never from message data.
///
/// File format (UTF-8): `Subject: <subject>`, an empty line, then the body.
public struct RedirectTemplate: Sendable, Hashable, CustomStringConvertible {
    /// The fixed subject.
    public let subject: String
    /// The body with placeholders.
    public let body: String

    init(subject: String, body: String) {
        self.subject = subject
        self.body = body
    }

    /// Loads a template file (see type documentation). At most 64 KiB.
    public init(contentsOf url: URL) throws(BuilderError) {
        guard let data = try? Data(contentsOf: url), data.count <= 64 * 1024,
            let text = String(data: data, encoding: .utf8)
        else { throw BuilderError(.invalidTemplate) }
        let normalized = text.replacingLineEnds()
        guard normalized.hasPrefix("Subject:"), let blank = normalized.range(of: "\n\n") else {
            throw BuilderError(.invalidTemplate)
        }
        let subject = String(normalized[normalized.index(normalized.startIndex, offsetBy: 8)..<blank.lowerBound])
            .trimmingASCIIWhitespace()
        guard !subject.isEmpty, !subject.contains("\n") else { throw BuilderError(.invalidTemplate) }
        self.init(subject: subject, body: String(normalized[blank.upperBound...]))
    }

    /// Built-in German redirect text.
    public static let german = RedirectTemplate(
        subject: "Ihre Nachricht an die Online-Beratung",
        body: """
            Guten Tag,

            diese Adresse nimmt nur verschlüsselte Nachrichten an. Ihre unverschlüsselte Nachricht wurde aus \
            Datenschutzgründen nicht gelesen und nicht gespeichert.

            Bitte schreiben Sie uns über die Beratungsplattform:
            {{link}}

            Referenz: {{reference}}

            Diese Nachricht wurde automatisch erstellt.
            """)

    /// Built-in English redirect text.
    public static let english = RedirectTemplate(
        subject: "Your message to the online counselling service",
        body: """
            Hello,

            this address only accepts encrypted messages. For your privacy, your unencrypted message was \
            neither read nor stored.

            Please write to us through the counselling platform:
            {{link}}

            Reference: {{reference}}

            This message was generated automatically.
            """)

    /// Operator text, not personal data.
    public var description: String { "RedirectTemplate(\(body.utf8.count) bytes)" }
}
