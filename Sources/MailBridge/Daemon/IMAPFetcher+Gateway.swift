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
    /// What the gateway does when a message is set aside: count it, and queue the content-free team notice
    /// "one message could not be fetched" for the source's mailbox, then wake the outbound queue.
    static func noticeOnSetAside(pipeline: Pipeline, metrics: GatewayMetrics?, kick: @escaping @Sendable () -> Void,
                                 logger: Logger) -> @Sendable (SetAsideEvent) async -> Void {
        { event in
            metrics?.imapMessageSetAside(reason: event.reason, moved: event.moved)
            do {
                try await pipeline.queueFetchFailedNotice(for: event.deliverTo)
                kick()
            } catch {
                logger.error("imap set-aside notice not queued", metadata: ["source": "\(event.sourceIndex)",
                                                                           "error": "\(error)"])
            }
        }
    }
}
