public import MailValues

/// The envelope collected during one mail transaction (RFC 5321 §3.3). `description` is redacted.
public struct SMTPEnvelope: Hashable, Sendable, CustomStringConvertible {
    public var reversePath: ReversePath
    public var parameters: MailParameters
    public var recipients: [EmailAddress]

    public init(reversePath: ReversePath, parameters: MailParameters, recipients: [EmailAddress] = []) {
        self.reversePath = reversePath
        self.parameters = parameters
        self.recipients = recipients
    }

    public var description: String { "envelope(\(recipients.count) recipients)" }
}
