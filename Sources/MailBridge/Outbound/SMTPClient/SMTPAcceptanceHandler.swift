import NIOCore

/// Records the smarthost's acceptance on the event loop, in the read that brings it (issue 18 §4).
///
/// Sits right after the framer and passes every ``SMTPFrame`` on unchanged. While its ``SMTPAcceptanceTrigger``
/// is armed (the message and its final dot are being written), it parses frames with its own
/// ``SMTPReplyParser``; when a complete reply is `250` (the state machine's condition for
/// ``DeliveryResult/delivered(_:_:)`` at end of data) it calls the trigger's `record` *before* forwarding the
/// frame: no task or actor hop and no other work lies between parsing the `250` and the record, so a `kill -9`
/// resends the message only if it falls between the server's acceptance and this read (RFC 1047). Any other
/// reply, or a malformed one, disarms without recording; the conversation's own parser reaches the same verdict
/// on the same frames.
///
/// Security: the reply is untrusted; the parser has the client's limits and nothing of it is kept or logged.
final class SMTPAcceptanceHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = SMTPFrame
    typealias InboundOut = SMTPFrame

    private let trigger: SMTPAcceptanceTrigger
    private var parser: SMTPReplyParser

    init(trigger: SMTPAcceptanceTrigger, limits: SMTPReplyParser.Limits) {
        self.trigger = trigger
        self.parser = SMTPReplyParser(limits: limits)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if trigger.isArmed {
            inspect(unwrapInboundIn(data))
        }
        context.fireChannelRead(data)
    }

    private func inspect(_ frame: SMTPFrame) {
        let reply: SMTPReply
        do {
            guard let complete = try parser.consume(frame) else { return }  // more lines of a multi-line reply
            reply = complete
        } catch {
            trigger.disarm()
            parser = SMTPReplyParser(limits: parser.limits)
            return
        }
        if trigger.disarm(), reply.code == .ok {
            trigger.record()
        }
    }
}

@available(*, unavailable)
extension SMTPAcceptanceHandler: Sendable {}
