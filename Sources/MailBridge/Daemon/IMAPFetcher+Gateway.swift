import Logging

extension IMAPFetcher.Limits {
    /// The limits from the configuration: sources without `max-message-bytes` use `[smtp] max-message-size`.
    static func fromConfiguration(_ configuration: BridgeConfiguration) -> IMAPFetcher.Limits {
        var limits = IMAPFetcher.Limits()
        limits.maximumMessageSize = configuration.smtp.maxMessageSize
        return limits
    }
}

extension IMAPFetcher {
    /// What the gateway does before a message is moved to the failed folder: queue the content-free team notice
    /// "one message could not be fetched" for the source's mailbox, once per message (``SetAsideEvent/key``), in
    /// the store, so it survives a kill right after the MOVE. Throws if the store cannot take it (the message then
    /// stays in the folder until the next cycle).
    static func queueNoticeBeforeSetAside(pipeline: Pipeline) -> @Sendable (SetAsideEvent) async throws -> Void {
        { event in
            try await pipeline.queueFetchFailedNotice(for: event.deliverTo, once: event.key.isEmpty ? nil : event.key)
        }
    }

    /// What the gateway does when a message was set aside (moved, or parked): count it. The notice queued before
    /// (``queueNoticeBeforeSetAside(pipeline:)``) woke the outbound queue when it committed (``Outbox``).
    static func noticeOnSetAside(metrics: GatewayMetrics?) -> @Sendable (SetAsideEvent) async -> Void {
        { event in metrics?.imapMessageSetAside(reason: event.reason, moved: event.moved) }
    }
}
