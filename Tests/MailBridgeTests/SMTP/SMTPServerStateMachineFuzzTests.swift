import MailBridge
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
                case .startData:
                    replies += 1  // the 354; the final reply follows from dataFinished
                    let rejection: DataReader.Rejection? =
                        Bool.random(using: &random) ? nil : .bareCarriageReturnOrLineFeed
                    action = machine.dataFinished(rejection: rejection)
                    continue
                case .storeMessage(let envelope):
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
