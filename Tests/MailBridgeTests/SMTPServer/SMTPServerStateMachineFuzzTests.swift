import MailBridge
import MailValues
import NIOCore
import TestSupport
import Testing

/// Random command sequences over all states (mox `FuzzServer` idea, without sockets): a session that follows the
/// protocol of the actions never drives the machine into `.error`, and every command gets exactly one reply.
struct SMTPServerStateMachineFuzzTests {

    static let commands: [SMTPCommand] = [
        .ehlo("c"), .helo("c"), .mailFrom(.null, parameters: .init()),
        .mailFrom(.mailbox(try! EmailAddress("a@example.net")), parameters: .init(size: 10, body: .eightBitMIME)),
        .mailFrom(.mailbox(try! EmailAddress("jörg@example.net")), parameters: .init()),
        .mailFrom(.null, parameters: .init(size: 1 << 40)), .rcptTo(try! EmailAddress("beratung@example.org")),
        .rcptTo(try! EmailAddress("other@example.org")), .rcptTo(try! EmailAddress("ünï@example.org")), .data,
        .rset, .vrfy, .help, .noop, .startTLS,
    ]
    /// Weighted towards a complete transaction so the walk reaches DATA often.
    static let weighted: [SMTPCommand] =
        commands + Array(repeating: .ehlo("c"), count: 3)
        + Array(repeating: .mailFrom(.null, parameters: .init()), count: 4)
        + Array(repeating: .rcptTo(try! EmailAddress("beratung@example.org")), count: 5)
        + Array(repeating: .data, count: 5)

    static let spool = QueueID("0123456789abcdef0123")!

    @Test(arguments: 0..<25)
    func randomSessionsNeverReachTheErrorState(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        let configuration = SMTPServerConfiguration(
            maximumRecipients: 2,
            maximumErrors: 10_000,
            maximumCommands: 10_000
        )
        var machine = SMTPServerStateMachine(
            configuration: configuration,
            policy: SMTPServerStateMachineTests.policy,
            tlsAvailable: true
        )
        var messages = 0
        for _ in 0..<600 {
            var action: SMTPServerStateMachine.Action
            if Int.random(in: 0..<20, using: &random) == 0 {
                action = machine.receivedInvalidCommand(SMTPReply(.syntaxError, .syntaxError, "bad"))
            } else {
                action = machine.receivedCommand(Self.weighted.randomElement(using: &random)!)
            }
            var replies = 0
            while true {
                switch action {
                case .send(let sent, _):
                    replies += sent.count
                case .openSpool:
                    let spool: QueueID? = Int.random(in: 0..<4, using: &random) == 0 ? nil : Self.spool
                    let start = machine.spoolOpened(spool, at: .now)
                    #expect(start == .send([SMTPReply(.startMailInput, nil, "")], close: false))
                    replies += 1  // the 354; the final reply follows the end of data
                    // A rejected (bare CR) or a clean message, then the real end of data.
                    let line = Bool.random(using: &random) ? "text\r\n" : "bare\rCR\r\n"
                    for text in [line, ".\r\n"] {
                        let frame = SMTPFrame(bytes: ByteBuffer(string: text), endsLine: true)
                        action = machine.receivedFrame(frame, at: .now)
                    }
                    continue
                case .appendToSpool, .checkPipelinedInput:
                    Issue.record("not reachable from a command")
                case .discardSpool(let queueID, let sent, _):
                    #expect(queueID == Self.spool)
                    replies += sent.count
                case .storeMessage(let envelope, let queueID):
                    #expect(queueID == Self.spool)
                    #expect(!envelope.recipients.isEmpty)
                    #expect(envelope.recipients.allSatisfy { SMTPServerStateMachineTests.policy.accepts($0) })
                    messages += 1
                    action =
                        Bool.random(using: &random) ? machine.messageStored(queueID: "q") : machine.messageStoreFailed()
                    continue
                case .startTLS:
                    replies += 1
                    #expect(machine.tlsEstablished() == .none)
                case .none:
                    break
                }
                break
            }
            #expect(replies >= 1, "every command is answered")
            #expect(machine.state != .error)
            if case .closed = machine.state {
                machine = SMTPServerStateMachine(
                    configuration: configuration,
                    policy: SMTPServerStateMachineTests.policy,
                    tlsAvailable: true
                )
            }
        }
        #expect(messages > 0, "the random walk reached DATA at least once")
    }
}
