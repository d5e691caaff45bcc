import NIOConcurrencyHelpers

/// Shared between one delivery's conversation and its ``SMTPAcceptanceHandler``: the conversation arms it just
/// before it writes the message and its final dot, and the handler fires `record` on the event loop the moment
/// it has parsed the server's `250` to that dot (issue 18 §4), before the reply travels on to the conversation's
/// task.
///
/// `record` runs on the connection's event loop, at most once per delivery: it must be short and must not block
/// (``DeliveryJournal/record(_:)`` is one `write(2)`).
///
/// ```swift
/// let trigger = SMTPAcceptanceTrigger(record: { journal.record(rowID) })
/// trigger.arm()                       // before writing the body
/// // in the handler, on the 250 to the final dot:
/// if trigger.disarm() { trigger.record() }
/// ```
public final class SMTPAcceptanceTrigger: Sendable {
    /// What makes the acceptance durable at once.
    public let record: @Sendable () -> Void
    private let armed = NIOLockedValueBox(false)

    public init(record: @escaping @Sendable () -> Void) {
        self.record = record
    }

    /// The next complete reply is the answer to the final dot. Call before the body is written: the lock orders
    /// this before the handler can see that reply.
    public func arm() {
        armed.withLockedValue { $0 = true }
    }

    /// True while the reply to the final dot is awaited.
    public var isArmed: Bool {
        armed.withLockedValue { $0 }
    }

    /// Disarms; returns whether it was armed (so a reply fires `record` at most once).
    @discardableResult
    public func disarm() -> Bool {
        armed.withLockedValue { was in
            defer { was = false }
            return was
        }
    }
}
