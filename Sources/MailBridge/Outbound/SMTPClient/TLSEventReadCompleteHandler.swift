import NIOCore
import NIOTLS

/// Sits after ``SMTPConnectionEventHandler`` and passes a `channelReadComplete` after the TLS handshake event.
///
/// The event handler turns `TLSUserEvent.handshakeCompleted` into a `.tlsEstablished` read without a read-complete,
/// and `NIOAsyncChannel` hands buffered reads to the consumer only on read-complete; without this the client
/// would wait (until a timer fires) for the event that tells it to send EHLO after STARTTLS (RFC 3207 §4.2).
/// The smtp branch fixes this in the event handler itself (commit "complete reads for shutdown/TLS signals"); once
/// that is merged this handler is redundant, and harmless: an extra read-complete only flushes an empty buffer.
final class TLSEventReadCompleteHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = SMTPInboundEvent
    typealias InboundOut = SMTPInboundEvent

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            context.fireChannelReadComplete()
        }
    }
}

@available(*, unavailable)
extension TLSEventReadCompleteHandler: Sendable {}
