// Security: decides which platform hears of an event (issue 29): an organisation's endpoint gets the events of the
// threads in its own fields only, so no platform learns that another organisation's thread exists.

public import ThreadStore

/// Where the events of some counselling fields go: one sender (URL, secrets, CA, timeout) and its retry policy.
public struct WebhookRoute: Sendable {
    /// The fields whose threads' events take this route; nil for every field (the installation's one `[webhook]`).
    public let fields: Set<CounsellingField>?
    public let sender: WebhookSender
    public let policy: WebhookRetryPolicy
    /// The organisation's ID, the `organisation` label of the route's results metric; nil for `[webhook]`.
    public let organisation: String?

    public init(fields: Set<CounsellingField>?, sender: WebhookSender, policy: WebhookRetryPolicy,
                organisation: String? = nil) {
        self.organisation = organisation
        self.fields = fields
        self.sender = sender
        self.policy = policy
    }

    /// Whether `event` takes this route. An event whose thread's field is unknown takes only the route of every
    /// field.
    func carries(_ event: WebhookEvent) -> Bool {
        guard let fields else { return true }
        return event.field.map(fields.contains) ?? false
    }
}
