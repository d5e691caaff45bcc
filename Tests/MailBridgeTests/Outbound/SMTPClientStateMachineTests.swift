import MailBridge
import MailValues
import NIOCore
import Testing

/// The client dialogue without any channel (STYLE.md §1, §14a).
struct SMTPClientStateMachineTests {
    static let sender = try! EmailAddress("gateway@example.org")
    static let recipient = try! EmailAddress("client@example.net")
    static let credentials = SMTPCredentials(username: "relay", password: "secret")

    static func machine(
        tls: SMTPClientConfiguration.TLSMode = .startTLS, credentials: SMTPCredentials? = nil,
        host: String = "smtp.example.org", recipients: [EmailAddress] = [recipient], reversePath: ReversePath? = nil,
        size: Int = 100, eightBit: Bool = false
    ) -> SMTPClientStateMachine {
        let configuration = SMTPClientConfiguration(
            host: host, port: 587, tlsMode: tls, credentials: credentials, heloName: "gw.example.org")
        let envelope = OutboundEnvelope(reversePath: reversePath ?? .mailbox(sender), recipients: recipients)
        return SMTPClientStateMachine(
            .init(configuration: configuration, envelope: envelope, messageSize: size, has8BitContent: eightBit))
    }

    static func reply(_ code: Int, _ lines: String...) -> SMTPReply {
        let texts = lines.isEmpty ? [""] : lines
        return SMTPReply(ReplyCode(code), nil, texts.last!, precedingLines: Array(texts.dropLast()))
    }

    /// Feeds replies in order; returns the actions.
    static func run(
        _ machine: inout SMTPClientStateMachine, _ replies: [SMTPReply]
    ) -> [SMTPClientStateMachine.Action] {
        replies.map { machine.receivedReply($0) }
    }

    static let ehloTLS = reply(250, "mx", "STARTTLS", "SIZE 10000", "8BITMIME")
    static let ehloSecure = reply(250, "mx", "SIZE 10000", "AUTH LOGIN PLAIN", "8BITMIME", "SMTPUTF8")

    @Test func fullDialogueWithStartTLSAndAuth() {
        var machine = Self.machine(credentials: Self.credentials)
        var actions = Self.run(&machine, [Self.reply(220), Self.ehloTLS, Self.reply(220)])
        #expect(actions == [.send(.ehlo("gw.example.org")), .send(.startTLS), .startTLS])
        #expect(machine.tlsEstablished() == .send(.ehlo("gw.example.org")))
        actions = Self.run(
            &machine,
            [Self.ehloSecure, Self.reply(235), Self.reply(250), Self.reply(250), Self.reply(354), Self.reply(250),
             Self.reply(221)])
        #expect(
            actions == [
                .send(.authPlain(Self.credentials)),
                .send(.mailFrom(.mailbox(Self.sender), size: 100, eightBitMIME: false, smtpUTF8: false)),
                .send(.rcptTo(Self.recipient)), .send(.data), .sendBody, .send(.quit),
                .close(.delivered(.ok, nil)),
            ])
    }

    @Test func startTLSRequiredButNotOffered() {
        var machine = Self.machine(credentials: Self.credentials)
        let actions = Self.run(&machine, [Self.reply(220), Self.reply(250, "mx", "AUTH PLAIN"), Self.reply(221)])
        #expect(actions[1] == .send(.quit), "quits without MAIL or AUTH")
        guard case .close(.temporaryFailure(let failure)) = actions[2] else { Issue.record("\(actions)"); return }
        #expect(failure.code == .tlsRequiredButUnavailable)
    }

    @Test func startTLSRefused() {
        var machine = Self.machine()
        let actions = Self.run(&machine, [Self.reply(220), Self.ehloTLS, Self.reply(454), Self.reply(221)])
        guard case .close(.temporaryFailure(let failure)) = actions[3] else { Issue.record("\(actions)"); return }
        #expect(failure.code == .tlsRequiredButUnavailable)
    }

    @Test func credentialsAreNeverSentBeforeTLS() {
        // Even if the server offers AUTH in clear, nothing but EHLO and STARTTLS go out before TLS.
        var machine = Self.machine(credentials: Self.credentials)
        let actions = Self.run(&machine, [Self.reply(220), Self.reply(250, "mx", "AUTH PLAIN LOGIN", "STARTTLS")])
        #expect(actions == [.send(.ehlo("gw.example.org")), .send(.startTLS)])
    }

    @Test func clearAuthOnlyForLoopbackWithTLSNone() {
        var remote = Self.machine(tls: .none, credentials: Self.credentials, host: "smtp.example.org")
        let actions = Self.run(&remote, [Self.reply(220), Self.reply(250, "mx", "AUTH PLAIN")])
        #expect(actions[1] == .send(.quit))
        if case .quitting(.temporaryFailure(let failure)) = remote.state {
            #expect(failure.code == .authenticationUnavailable)
        } else { Issue.record("\(remote.state)") }

        var loopback = Self.machine(tls: .none, credentials: Self.credentials, host: "127.0.0.1")
        let local = Self.run(&loopback, [Self.reply(220), Self.reply(250, "mx", "AUTH PLAIN")])
        #expect(local[1] == .send(.authPlain(Self.credentials)))
    }

    @Test func authLoginAndFailure() {
        var machine = Self.machine(tls: .implicit, credentials: Self.credentials)
        #expect(machine.tlsEstablished() == .wait)
        let actions = Self.run(
            &machine, [Self.reply(220), Self.reply(250, "mx", "AUTH LOGIN"), Self.reply(334), Self.reply(334),
                       Self.reply(535), Self.reply(221)])
        #expect(actions[1] == .send(.authLogin))
        #expect(actions[2] == .send(.loginUsername(Self.credentials)))
        #expect(actions[3] == .send(.loginPassword(Self.credentials)))
        #expect(actions[4] == .send(.quit))
        guard case .close(.permanentFailure(let failure)) = actions[5] else { Issue.record("\(actions)"); return }
        #expect(failure == DeliveryFailure(.rejected, step: .auth, reply: ReplyCode(535)))
    }

    @Test func heloFallbackWithoutTLSRequirement() {
        var machine = Self.machine(tls: .none, host: "localhost", reversePath: .null)
        let actions = Self.run(&machine, [Self.reply(220), Self.reply(502), Self.reply(250), Self.reply(250)])
        #expect(actions[1] == .send(.helo("gw.example.org")))
        #expect(actions[2] == .send(.mailFrom(.null, size: nil, eightBitMIME: false, smtpUTF8: false)))
        #expect(actions[3] == .send(.rcptTo(Self.recipient)))
    }

    @Test func heloFallbackCannotSatisfyTLS() {
        var machine = Self.machine()
        let actions = Self.run(&machine, [Self.reply(220), Self.reply(500), Self.reply(250)])
        #expect(actions[2] == .send(.quit))
        #expect(
            machine.state
                == .quitting(.temporaryFailure(DeliveryFailure(.tlsRequiredButUnavailable, step: .startTLS))))
    }

    @Test(arguments: [(451, false), (550, true), (452, false), (554, true)])
    func recipientRefusalClassified(_ code: Int, _ permanent: Bool) {
        let second = try! EmailAddress("other@example.net")
        var machine = Self.machine(tls: .implicit, recipients: [Self.recipient, second])
        let actions = Self.run(
            &machine, [Self.reply(220), Self.reply(250, "mx"), Self.reply(250), Self.reply(250), Self.reply(code),
                       Self.reply(221)])
        #expect(actions[3] == .send(.rcptTo(second)))
        #expect(actions[4] == .send(.quit), "no DATA after any refused recipient")
        let failure = DeliveryFailure(.rejected, step: .rcptTo, reply: ReplyCode(code))
        #expect(actions[5] == .close(permanent ? .permanentFailure(failure) : .temporaryFailure(failure)))
    }

    @Test func serverClosing421AnywhereEndsWithoutQuit() {
        var machine = Self.machine(tls: .implicit)
        let actions = Self.run(&machine, [Self.reply(220), Self.reply(421)])
        guard case .close(.temporaryFailure(let failure)) = actions[1] else { Issue.record("\(actions)"); return }
        #expect(failure.code == .serverClosing)
    }

    @Test func sizeUTF8AndEightBitChecksBeforeMail() {
        var big = Self.machine(tls: .implicit, size: 20000)
        #expect(Self.run(&big, [Self.reply(220), Self.ehloSecure])[1] == .send(.quit))
        #expect(big.state == .quitting(.permanentFailure(DeliveryFailure(.messageTooLarge, step: .mailFrom))))

        var utf8 = Self.machine(tls: .implicit, recipients: [try! EmailAddress("jürgen@example.net")])
        #expect(Self.run(&utf8, [Self.reply(220), Self.reply(250, "mx")])[1] == .send(.quit))
        #expect(utf8.state == .quitting(.permanentFailure(DeliveryFailure(.smtpUTF8Unsupported, step: .mailFrom))))

        var eightBit = Self.machine(tls: .implicit, eightBit: true)
        let actions = Self.run(&eightBit, [Self.reply(220), Self.ehloSecure])
        #expect(actions[1] == .send(.mailFrom(.mailbox(Self.sender), size: 100, eightBitMIME: true, smtpUTF8: false)))
    }

    @Test func connectionLossAfterDataIsRetriedButAfterAcceptanceIsDelivered() {
        var lost = Self.machine(tls: .implicit)
        _ = Self.run(&lost, [Self.reply(220), Self.reply(250, "mx"), Self.reply(250), Self.reply(250), Self.reply(354)])
        #expect(lost.failed(.connectionClosed)
            == .close(.temporaryFailure(DeliveryFailure(.connectionClosed, step: .endOfData))))

        var accepted = Self.machine(tls: .implicit)
        _ = Self.run(
            &accepted, [Self.reply(220), Self.reply(250, "mx"), Self.reply(250), Self.reply(250), Self.reply(354),
                        Self.reply(250)])
        #expect(accepted.failed(.timeout) == .close(.delivered(.ok, nil)), "a lost QUIT reply changes nothing")
    }

    @Test func impossibleEventsMoveToErrorAndStayThere() {
        var machine = Self.machine()
        #expect(machine.tlsEstablished() == .close(.temporaryFailure(DeliveryFailure(.internalError))))
        #expect(machine.state == .error)
        #expect(machine.receivedReply(Self.reply(220)) == .close(.temporaryFailure(DeliveryFailure(.internalError))))
        #expect(machine.failed(.timeout) == .close(.temporaryFailure(DeliveryFailure(.internalError))))
        #expect(machine.state == .error)
    }

    @Test func unexpectedPositiveReplyIsMalformed() {
        var machine = Self.machine(tls: .implicit)
        let actions = Self.run(&machine, [Self.reply(220), Self.reply(250, "mx"), Self.reply(354), Self.reply(221)])
        guard case .close(.temporaryFailure(let failure)) = actions[3] else { Issue.record("\(actions)"); return }
        #expect(failure.code == .malformedReply)
    }

    @Test func descriptionsHideSecretsAndAddresses() {
        let commands: [SMTPClientCommand] = [
            .authPlain(Self.credentials), .loginPassword(Self.credentials), .rcptTo(Self.recipient),
            .mailFrom(.mailbox(Self.sender), size: 1, eightBitMIME: false, smtpUTF8: false),
        ]
        for command in commands {
            #expect(!"\(command)".contains("secret") && !"\(command)".contains("example"))
        }
        #expect(!"\(Self.credentials)".contains("secret"))
        #expect(
            String(buffer: SMTPClientCommand.authPlain(Self.credentials).wireBytes)
                == "AUTH PLAIN AHJlbGF5AHNlY3JldA==\r\n")
    }
}

extension SMTPClientStateMachineTests {
    @Test func replyDuringTLSHandshakeEndsWithoutQuit() {
        var machine = Self.machine()
        _ = Self.run(&machine, [Self.reply(220), Self.ehloTLS, Self.reply(220)])
        #expect(machine.receivedReply(Self.reply(250))
            == .close(.temporaryFailure(DeliveryFailure(.malformedReply, step: .tlsHandshake))))
    }
}
