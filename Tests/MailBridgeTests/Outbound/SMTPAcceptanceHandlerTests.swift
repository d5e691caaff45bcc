import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import MailBridge

/// Issue 18 §4: the 250 to the final dot is recorded in the channel handler that parses it, before the frame goes
/// on to the conversation (no task hop), and nothing else is ever recorded.
struct SMTPAcceptanceHandlerTests {
    /// Counts the trigger's records, and for every frame that reaches the next handler notes how many records had
    /// happened by then.
    final class Probe: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = SMTPFrame
        let records: NIOLockedValueBox<Int>
        var recordsSeenPerFrame: [Int] = []
        init(records: NIOLockedValueBox<Int>) { self.records = records }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            recordsSeenPerFrame.append(records.withLockedValue { $0 })
        }
    }

    static func pipeline() throws -> (EmbeddedChannel, SMTPAcceptanceTrigger, Probe) {
        let records = NIOLockedValueBox(0)
        let trigger = SMTPAcceptanceTrigger(record: { records.withLockedValue { $0 += 1 } })
        let probe = Probe(records: records)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(SMTPAcceptanceHandler(trigger: trigger, limits: .init()))
        try channel.pipeline.syncOperations.addHandler(probe)
        return (channel, trigger, probe)
    }

    static func frame(_ text: String, endsLine: Bool = true) -> SMTPFrame {
        SMTPFrame(bytes: ByteBuffer(string: text), endsLine: endsLine)
    }

    @Test func theAcceptanceIsRecordedBeforeTheReplyGoesOn() throws {
        let (channel, trigger, probe) = try Self.pipeline()
        try channel.writeInbound(Self.frame("354 go ahead\r\n"))  // not armed yet: the DATA reply
        trigger.arm()
        try channel.writeInbound(Self.frame("250 2.0.0 queued as 1\r\n"))
        #expect(probe.recordsSeenPerFrame == [0, 1], "recorded before the next handler saw the 250")
        #expect(!trigger.isArmed)
        try channel.writeInbound(Self.frame("221 bye\r\n"))  // the reply to QUIT records nothing
        #expect(probe.recordsSeenPerFrame == [0, 1, 1])
        _ = try channel.finish()
    }

    @Test func aMultiLineAcceptanceIsRecordedAtItsLastLine() throws {
        let (channel, trigger, probe) = try Self.pipeline()
        trigger.arm()
        try channel.writeInbound(Self.frame("250-2.0.0 first\r\n"))
        try channel.writeInbound(Self.frame("250 2.0.0 last\r\n"))
        #expect(probe.recordsSeenPerFrame == [0, 1])
        _ = try channel.finish()
    }

    /// Only 250 means delivered (as in the state machine); any other reply or a malformed one disarms, so a later
    /// 250 (to QUIT's neighbour, or from a confused server) records nothing either.
    @Test(arguments: [
        "554 5.7.1 no\r\n", "451 4.3.0 later\r\n", "421 4.3.2 closing\r\n", "251 odd\r\n", "250x\r\n",
        "250 bare\n", "999 no\r\n",
    ])
    func nothingButA250IsRecorded(_ reply: String) throws {
        let (channel, trigger, probe) = try Self.pipeline()
        trigger.arm()
        try channel.writeInbound(Self.frame(reply))
        #expect(!trigger.isArmed)
        try channel.writeInbound(Self.frame("250 ok\r\n"))
        #expect(probe.recordsSeenPerFrame == [0, 0])
        _ = try channel.finish()
    }

    @Test func aFragmentOfAnOverlongLineIsNoAcceptance() throws {
        let (channel, trigger, probe) = try Self.pipeline()
        trigger.arm()
        try channel.writeInbound(Self.frame("250 " + String(repeating: "x", count: 40), endsLine: false))
        try channel.writeInbound(Self.frame("x\r\n"))
        #expect(probe.recordsSeenPerFrame == [0, 0])
        _ = try channel.finish()
    }
}
