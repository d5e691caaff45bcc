// Security: shows the webhook outbox (issue 29): event IDs, types, thread and message IDs (opaque, random), times,
// attempts and HTTP status codes. Nothing of a message or a person is stored there, so nothing of it is shown.

public import Foundation
public import ThreadStore

/// `mailbridge webhooks list|retry|new-secret`: the delivery state of the events sent to the platform.
public enum WebhooksAdmin {
    struct ListedEvent: Encodable {
        var id: String
        var type: String
        var thread: String?
        var message: String?
        var occurredAt: Date
        var state: String
        var attempts: Int
        var nextAttemptAt: Date?
        var lastStatus: Int?
        var lastProblem: String?
        var finishedAt: Date?
    }

    struct Listing: Encodable {
        var configured: Bool
        var counts: [String: Int]
        var events: [ListedEvent]
    }

    /// The newest `limit` events (only those in `state` if given), with the counts per state.
    public static func list(_ installation: OpenedInstallation, state: WebhookDeliveryState?, limit: Int,
                            json: Bool) async throws -> AdminResult {
        let store = installation.stores.webhooks
        let counts = try await store.webhookEventCounts()
        let events = try await store.webhookEvents(state: state, limit: limit).map { event in
            ListedEvent(
                id: event.id.unredactedDescription, type: event.type.name,
                thread: event.thread?.unredactedDescription, message: event.message?.unredactedDescription,
                occurredAt: event.occurredAt, state: event.state.description, attempts: event.attempts,
                nextAttemptAt: event.state == .pending ? event.nextAttemptAt : nil,
                lastStatus: event.lastStatus.flatMap { $0 > 0 ? $0 : nil },
                lastProblem: event.lastStatus.flatMap { WebhookAttemptProblem(rawValue: $0)?.description },
                finishedAt: event.finishedAt)
        }
        let listing = Listing(
            configured: hasWebhook(installation.configuration),
            counts: Dictionary(uniqueKeysWithValues: WebhookDeliveryState.allCases.map {
                ($0.description, counts[$0] ?? 0)
            }),
            events: events)
        if json { return AdminResult(output: try AdminSession.json(listing)) }
        let formatter = ISO8601DateFormatter()
        var lines = [
            "webhook: " + (listing.configured ? "configured" : "not configured in this file"),
            "events: " + WebhookDeliveryState.allCases.map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", "),
        ]
        for event in events {
            var line = "\(event.id)  \(event.type)  \(formatter.string(from: event.occurredAt))  \(event.state)"
                + "  attempts \(event.attempts)"
            if let status = event.lastStatus { line += "  last answer \(status)" }
            if let problem = event.lastProblem { line += "  last attempt \(problem)" }
            if let next = event.nextAttemptAt { line += "  next \(formatter.string(from: next))" }
            if let finished = event.finishedAt { line += "  finished \(formatter.string(from: finished))" }
            if let thread = event.thread { line += "  thread \(thread)" }
            lines.append(line)
        }
        return AdminResult(output: lines.joined(separator: "\n"))
    }

    /// Puts a given-up event back: the running gateway sends it at its next pass.
    public static func retry(_ installation: OpenedInstallation, id text: String) async throws -> AdminResult {
        guard let id = try? WebhookEventID(text) else {
            throw AdminUsageError("not a webhook event ID: 32 hexadecimal characters, as `webhooks list` shows")
        }
        guard try await installation.stores.webhooks.retryWebhookEvent(id, now: Date()) else {
            throw AdminUsageError("no failed webhook event \(id) (see `mailbridge webhooks list --state failed`)")
        }
        return AdminResult(output: "webhook event \(id) is pending again; the running gateway sends it")
    }

    /// Stops recording events for the whole installation (every node of a PostgreSQL store), after `[webhook]` was
    /// removed from every node: a node that still has it turns recording on again when it starts. Recorded events
    /// stay until maintenance deletes them.
    public static func disable(_ installation: OpenedInstallation) async throws -> AdminResult {
        try await installation.stores.webhooks.setWebhookSubscription(false, now: Date())
        var output = "webhook events are no longer recorded"
        if hasWebhook(installation.configuration) {
            output += "; this configuration still has [webhook] or [organisation.webhook]: a gateway started with "
                + "it records them again"
        }
        return AdminResult(output: output)
    }

    /// Whether the configuration sends events: `[webhook]`, or any organisation's `[organisation.webhook]`.
    static func hasWebhook(_ configuration: BridgeConfiguration) -> Bool {
        configuration.webhook != nil || configuration.organisations.contains { $0.webhook != nil }
    }

    /// A new signing secret, for the secret file and the platform.
    public static func newSecret() -> AdminResult {
        AdminResult(output: WebhookSecret.generate())
    }
}
