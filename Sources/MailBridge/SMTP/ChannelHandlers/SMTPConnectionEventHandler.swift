public import NIOCore
import NIOTLS

/// Turns frames and connection signals (idle timer, session deadline, shutdown, TLS handshake done) into one
/// ordered stream of ``SMTPInboundEvent`` for the session loop.
///
/// Security: the timers bound how long an untrusted client can hold a connection. The idle timer counts from
/// the last complete frame or the last write, so a client trickling a line byte by byte (slowloris) still
/// times out. After firing, the idle timer re-arms, so the session may ignore a stale one.
public final class SMTPConnectionEventHandler: ChannelDuplexHandler {
    public typealias InboundIn = SMTPFrame
    public typealias InboundOut = SMTPInboundEvent
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let idleTimeout: TimeAmount
    private let sessionDeadline: TimeAmount
    /// On the event loop's clock (`EventLoop.now`), so the timers also run on an `NIOAsyncTestingEventLoop`'s time.
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    private var idleTask: Scheduled<Void>?
    private var deadlineTask: Scheduled<Void>?
    private let progressInterval: TimeAmount?
    private var progressTask: RepeatedTask?

    /// `progressCheckInterval`: if set, a ``SMTPInboundEvent/progressCheck`` every so often, for the server
    /// session's stress-mode check (the client side passes nil).
    public init(idleTimeout: Duration, sessionDeadline: Duration, progressCheckInterval: Duration? = nil) {
        self.idleTimeout = TimeAmount(idleTimeout)
        self.sessionDeadline = TimeAmount(sessionDeadline)
        self.progressInterval = progressCheckInterval.map(TimeAmount.init)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) { stop() }

    public func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = context.eventLoop.now
        context.fireChannelRead(wrapInboundOut(.frame(unwrapInboundIn(data))))
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = context.eventLoop.now
        context.write(data, promise: promise)
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is SMTPShutdownSignal:
            // Signals are reads of their own: complete them, or NIOAsyncChannel holds them until the next read.
            context.fireChannelRead(wrapInboundOut(.shutdown))
            context.fireChannelReadComplete()
        case let tls as TLSUserEvent:
            if case .handshakeCompleted = tls {
                context.fireChannelRead(wrapInboundOut(.tlsEstablished))
                context.fireChannelReadComplete()
            }
            context.fireUserInboundEventTriggered(event)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func start(context: ChannelHandlerContext) {
        guard deadlineTask == nil else { return }
        lastActivity = context.eventLoop.now
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadlineTask = context.eventLoop.scheduleTask(in: sessionDeadline) {
            let (handler, context) = loopBound.value
            context.fireChannelRead(handler.wrapInboundOut(.sessionDeadline))
            context.fireChannelReadComplete()
        }
        scheduleIdleCheck(context: context, at: lastActivity + idleTimeout)
        if let progressInterval {
            progressTask = context.eventLoop.scheduleRepeatedTask(initialDelay: progressInterval,
                                                                  delay: progressInterval) { _ in
                let (handler, context) = loopBound.value
                context.fireChannelRead(handler.wrapInboundOut(.progressCheck))
                context.fireChannelReadComplete()
            }
        }
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTask = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.idleCheck(context: context)
        }
    }

    private func idleCheck(context: ChannelHandlerContext) {
        guard idleTask != nil else { return }
        let due = lastActivity + idleTimeout
        if context.eventLoop.now >= due {
            context.fireChannelRead(wrapInboundOut(.idleTimeout))
            context.fireChannelReadComplete()
            scheduleIdleCheck(context: context, at: context.eventLoop.now + idleTimeout)
        } else {
            scheduleIdleCheck(context: context, at: due)
        }
    }

    private func stop() {
        idleTask?.cancel()
        idleTask = nil
        deadlineTask?.cancel()
        deadlineTask = nil
        progressTask?.cancel()
        progressTask = nil
    }
}

@available(*, unavailable)
extension SMTPConnectionEventHandler: Sendable {}
