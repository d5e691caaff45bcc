public import Logging
public import ServiceLifecycle

/// Feeds spooled messages through the ``Pipeline``, exactly once: a message leaves the spool only after the
/// pipeline committed its outcome. A crash between the commit and the removal re-runs the message, and the store
/// recognises it (same Message-ID and content → `duplicate`; a redirect is rate-limited by then).
public final class PipelineRunner: Service, Sendable {
    let spool: SpoolIntake
    let pipeline: Pipeline
    let logger: Logger
    let pollInterval: Duration
    private let wake = WakeSignal()

    public init(spool: SpoolIntake, pipeline: Pipeline, logger: Logger, pollInterval: Duration = .seconds(5)) {
        self.spool = spool
        self.pipeline = pipeline
        self.logger = logger
        self.pollInterval = pollInterval
    }

    /// Called after the SMTP listener (or the IMAP fetcher) spooled a message.
    public func kick() {
        Task { await wake.signal() }
    }

    public func run() async throws {
        let removed = try spool.recover()
        if removed > 0 { logger.notice("spool recovery removed incomplete files", metadata: ["count": "\(removed)"]) }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.drain()
                await self.wake.wait(timeout: self.pollInterval)
            }
        }
    }

    /// Processes everything pending now. A message whose processing throws stays in the spool for the next round.
    public func drain() async {
        let pending: [InboundMessage]
        do {
            pending = try spool.pending()
        } catch {
            logger.error("cannot list the spool", metadata: ["error": "\(type(of: error))"])
            return
        }
        for message in pending where !Task.isCancelled {
            do {
                _ = try await pipeline.accept(message)
                try spool.remove(message)
            } catch {
                // Error descriptions of the store, PGPShim and the spool carry no content.
                logger.error("inbound processing failed; will retry",
                             metadata: ["queue": "\(message.queueID)", "error": "\(error)"])
            }
        }
    }
}
