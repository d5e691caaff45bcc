// Security: builds the body the platform receives. It carries the event's type, its opaque random IDs (event,
// thread, message) and its time, and nothing else: no content, no subject, no address, no name, no field, no key.

import Foundation
public import ThreadStore

/// The JSON body of a webhook request, in the shape the Standard Webhooks specification suggests (`type`,
/// `timestamp`, `data`):
///
/// ```json
/// {"data":{"event_id":"9f…","message_id":"4c…","thread_id":"a1…"},"timestamp":"2026-12-07T10:00:00.123Z",
///  "type":"message.received"}
/// ```
///
/// The platform fetches whatever it shows through the JSON API with its own token.
public struct WebhookPayload: Encodable, Sendable {
    public struct Payload: Encodable, Sendable {
        var eventID: String
        var threadID: String?
        var messageID: String?

        enum CodingKeys: String, CodingKey {
            case eventID = "event_id"
            case threadID = "thread_id"
            case messageID = "message_id"
        }
    }

    var type: String
    var timestamp: String
    var data: Payload

    public init(_ event: WebhookEvent) {
        type = event.type.name
        timestamp = event.occurredAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        data = Payload(eventID: event.id.unredactedDescription, threadID: event.thread?.unredactedDescription,
                       messageID: event.message?.unredactedDescription)
    }

    /// The body's bytes: keys sorted, so equal events give equal bytes.
    public func body() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and optionals only: encoding cannot fail.
        return Array((try? encoder.encode(self)) ?? Data())
    }
}
