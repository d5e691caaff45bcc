public import Foundation

/// What a webhook event tells a platform (issue 29). Stored as `webhook_event.type`; the codes are pinned by
/// `StoredCodeTests`, and the names are the `type` field of the payload.
public enum WebhookEventType: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// A client's first message opened a thread.
    case threadCreated = 1
    /// A client message was stored in a thread.
    case messageReceived = 2
    /// A counsellor's reply was handed to the smarthost.
    case replySent = 3
    /// A counsellor's reply is held: there is no usable client key to encrypt it to.
    case replyHeld = 4
    /// The client's key changed: a message signed by another key arrived, a thread without key got one, or a
    /// counsellor confirmed the new key.
    case keyChanged = 5

    /// The event's name in the payload.
    public var name: String {
        switch self {
        case .threadCreated: "thread.created"
        case .messageReceived: "message.received"
        case .replySent: "reply.sent"
        case .replyHeld: "reply.held"
        case .keyChanged: "key.changed"
        }
    }

    /// The type of a payload name.
    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    public var description: String { name }
}

/// Where a webhook event's delivery stands. Stored as `webhook_event.state`.
public enum WebhookDeliveryState: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Not delivered yet: waiting for its next attempt.
    case pending = 0
    /// The receiver answered 2xx.
    case delivered = 1
    /// Given up after the retry period; `mailbridge webhooks retry` puts it back.
    case failed = 2

    public var description: String {
        switch self {
        case .pending: "pending"
        case .delivered: "delivered"
        case .failed: "failed"
        }
    }
}

/// The stable, random ID of a webhook event: every attempt sends it as `webhook-id`, so a receiver drops repeats.
public struct WebhookEventID: Hashable, Sendable, CustomStringConvertible {
    let raw: RandomHex128
    /// Validates an event ID from text (`mailbridge webhooks retry ID`).
    public init(_ text: String) throws(ThreadStoreError) { raw = try RandomHex128(validating: text) }
    /// The ID in clear: it names nothing but the event.
    public var unredactedDescription: String { raw.text }
    public var description: String { raw.text }
}

/// One webhook event with its delivery state. IDs and times only: nothing of a message or a person.
public struct WebhookEvent: Sendable, Hashable, CustomStringConvertible {
    /// How long an event is kept after it was delivered or given up (for `mailbridge webhooks list`), and how long
    /// a pending one may wait for its next attempt before maintenance deletes it.
    public static let keptFor: TimeInterval = 30 * 86_400

    public var id: WebhookEventID
    public var type: WebhookEventType
    public var thread: ThreadID?
    public var message: StoredMessageID?
    public var occurredAt: Date
    public var state: WebhookDeliveryState
    public var attempts: Int
    public var nextAttemptAt: Date
    /// The HTTP status of the last answer, or a negative ``WebhookAttemptProblem`` code for an attempt without one.
    public var lastStatus: Int?
    /// When it was delivered or given up.
    public var finishedAt: Date?
    /// The counselling field of its thread, read with the event (issue 29): which organisation's endpoint it goes
    /// to. Nil for an event without a thread.
    public var field: CounsellingField?

    public init(id: WebhookEventID, type: WebhookEventType, thread: ThreadID?, message: StoredMessageID?,
                occurredAt: Date, state: WebhookDeliveryState, attempts: Int, nextAttemptAt: Date, lastStatus: Int?,
                finishedAt: Date?) {
        self.id = id
        self.type = type
        self.thread = thread
        self.message = message
        self.occurredAt = occurredAt
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.finishedAt = finishedAt
    }

    public var description: String { "WebhookEvent(\(id), \(type), \(state), attempts: \(attempts))" }
}

/// Why an attempt got no HTTP status, stored negative in ``WebhookEvent/lastStatus``.
public enum WebhookAttemptProblem: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// No connection (refused, unreachable, name not found).
    case connectionFailed = -1
    /// The TLS handshake failed (certificate not trusted, wrong name, expired).
    case tlsFailed = -2
    /// No answer within the timeout.
    case timedOut = -3
    /// Anything else (a malformed answer).
    case other = -4
    /// Not sent: the organisation of the event's thread has no webhook (issue 29).
    case noEndpoint = -5

    public var description: String {
        switch self {
        case .connectionFailed: "connection failed"
        case .tlsFailed: "TLS failed"
        case .timedOut: "timed out"
        case .other: "failed"
        case .noEndpoint: "no endpoint"
        }
    }
}

/// The outcome of one delivery attempt, as the sender reports it to ``WebhookEventStore/settleWebhookAttempt``.
public enum WebhookAttemptOutcome: Sendable, Hashable {
    /// The receiver answered 2xx with this status.
    case delivered(status: Int)
    /// It did not: the status (or the negative problem code) and when to try again; nil gives up.
    case failed(status: Int, retryAt: Date?)

    /// The HTTP status, or the negative ``WebhookAttemptProblem`` code.
    public var status: Int {
        switch self {
        case .delivered(let status), .failed(let status, _): status
        }
    }
}
