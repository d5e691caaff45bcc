// Fuzz target: an SMTP session's input side, without sockets or files. The input is the byte stream a client
// sends; the first byte picks the limits (small ones reach every limit path in short inputs), TLS availability
// and how the intake answers. Frames come from the real SMTPFramingDecoder (in an EmbeddedChannel), then go into
// SMTPServerStateMachine (which parses commands and reads data itself) exactly as SMTPSession feeds them.
//
// Checked besides crashes: the machine never reaches `.error` (the session never misuses it), every reply is
// well-formed on the wire (no CR/LF injected from client bytes), DATA never yields more than the size limit,
// and the session ends after a closing reply.

import MailBridge
import NIOCore
import NIOEmbedded
import CFuzzDriver

/// SwiftPM links `main` to `FuzzSMTP_main`: start libFuzzer's driver with this target's input function.
@_cdecl("FuzzSMTP_main")
public func fuzzSMTPMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzSMTP(UnsafeRawPointer(data), size)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    var session = FuzzedSession(selector: selector)
    session.run(Array(input.dropFirst()))
    return 0
}

struct FuzzedSession {
    let configuration: SMTPServerConfiguration
    let storeSucceeds: Bool
    var machine: SMTPServerStateMachine
    /// The one spool file handle, and the octets "appended" to it.
    let spool = QueueID("0123456789abcdef0123")!
    var spooled = 0
    var closed = false

    init(selector: UInt8) {
        var configuration = SMTPServerConfiguration(hostname: "mx.example.org")
        if selector & 1 != 0 {
            // Small limits: every limit (line, header, message, recipients, errors, commands) within a short input.
            configuration.maximumCommandLineLength = 64
            configuration.maximumTextLineLength = 80
            configuration.maximumMessageSize = 300
            configuration.maximumHeaderSize = 120
            configuration.maximumRecipients = 3
            configuration.maximumErrors = 4
            configuration.maximumCommands = 40
            configuration.maximumJunkCommands = 5
        }
        configuration.rejectPipelinedData = selector & 2 != 0
        self.configuration = configuration
        storeSucceeds = selector & 4 == 0
        let policy = RecipientPolicy(accepting: [
            try! EmailAddress("beratung@example.org"), try! EmailAddress("rat@xn--bcher-kva.example"),
        ])
        machine = SMTPServerStateMachine(configuration: configuration, policy: policy, tlsAvailable: selector & 8 != 0)
        machine.underStress = selector & 16 != 0
    }

    mutating func run(_ bytes: [UInt8]) {
        check(machine.greeting)
        let frames = Self.frames(bytes, maximumLineLength: configuration.maximumFrameLength)
        for (index, frame) in frames.enumerated() where !closed {
            perform(machine.receivedFrame(frame, at: .now), morePending: index + 1 < frames.count)
        }
        if !closed, !machine.isInMessage { perform(machine.timedOut(), morePending: false) }
    }

    /// The frames SMTPFramingDecoder makes of `bytes`.
    static func frames(_ bytes: [UInt8], maximumLineLength: Int) -> [SMTPFrame] {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(
                SMTPFramingDecoder(maximumLineLength: maximumLineLength),
                maximumBufferSize: 2 * maximumLineLength
            )
        )
        var frames: [SMTPFrame] = []
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try! channel.writeInbound(buffer)
        while let frame = try! channel.readInbound(as: SMTPFrame.self) { frames.append(frame) }
        // EOF: decodeLast emits what decode already did and drops a partial last line, as the session does.
        _ = try? channel.finish()
        let total = frames.reduce(0) { $0 + $1.bytes.readableBytes }
        precondition(total <= bytes.count, "the framer produced more bytes than it read")
        for frame in frames {
            precondition(frame.bytes.readableBytes <= maximumLineLength, "frame longer than the framing limit")
            let view = frame.bytes.readableBytesView
            precondition(frame.endsLine == (view.last == UInt8(ascii: "\n")), "endsLine disagrees with the bytes")
        }
        return frames
    }

    /// SMTPSession.run's action loop, with the spool, the pipelining check, the intake and the TLS handshake
    /// answered at once.
    mutating func perform(_ first: SMTPServerStateMachine.Action, morePending: Bool) {
        var action: SMTPServerStateMachine.Action? = first
        while let current = action {
            action = nil
            precondition(machine.state != .error, "state machine in .error: the session misused it")
            switch current {
            case .none:
                break
            case .send(let replies, let close), .discardSpool(_, let replies, let close):
                if case .discardSpool(let queueID, _, _) = current {
                    precondition(queueID == spool, "discarding a file that was never opened")
                    if replies.isEmpty && !close { break }
                }
                precondition(!replies.isEmpty, "an empty send")
                replies.forEach(check)
                if close {
                    precondition(machine.state == .closed, "closing reply but the machine is not closed")
                    closed = true
                }
            case .openSpool:
                spooled = 0
                action = machine.spoolOpened(spool, at: .now)
            case .appendToSpool(let queueID, let bytes):
                precondition(queueID == spool, "appending to a file that was never opened")
                spooled += bytes.readableBytes
                precondition(spooled <= configuration.maximumMessageSize, "more spooled than the size limit")
                if case .receivingData(_, _, let phase) = machine.state {
                    precondition(phase.reader.rejection == nil, "content after a rejection")
                }
            case .checkPipelinedInput:
                action = machine.pipeliningChecked(inputPending: morePending)
            case .startTLS(let reply):
                check(reply)
                action = machine.tlsEstablished()
            case .storeMessage(let envelope, let queueID):
                precondition(queueID == spool, "storing a file that was never opened")
                precondition(!envelope.recipients.isEmpty, "a message stored without recipients")
                precondition(envelope.recipients.count <= configuration.maximumRecipients)
                action = storeSucceeds ? machine.messageStored(queueID: "Q0001") : machine.messageStoreFailed()
            }
        }
        precondition(machine.state != .error, "state machine in .error: the session misused it")
    }

    /// A reply is lines of `code[-| ]text` ending in CRLF, with no other CR or LF, and a 2xx–5xx code.
    func check(_ reply: SMTPReply) {
        let code = reply.code.rawValue
        precondition((200...599).contains(code), "reply code out of range: \(code)")
        let wire = Array(reply.wireBytes.readableBytesView)
        precondition(wire.count >= 6 && wire.suffix(2) == [13, 10], "reply does not end in CRLF")
        var lineStart = 0
        for index in wire.indices where wire[index] == 10 {
            precondition(index > lineStart && wire[index - 1] == 13, "bare LF in a reply")
            let line = wire[lineStart..<(index - 1)]
            precondition(!line.contains(13), "bare CR in a reply")
            precondition(line.count >= 3 && line.count <= 512, "reply line length \(line.count)")
            precondition(String(decoding: line.prefix(3), as: UTF8.self) == String(code), "a line with another code")
            lineStart = index + 1
        }
    }
}
