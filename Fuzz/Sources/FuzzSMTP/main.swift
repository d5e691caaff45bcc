// Fuzz target: an SMTP session's input side, without sockets or files. The input is the byte stream a client
// sends; the first byte picks the limits (small ones reach every limit path in short inputs), TLS availability
// and how the intake answers. Frames come from the real SMTPFramingDecoder (in an EmbeddedChannel), then go
// through SMTPCommandParser or DataReader into SMTPServerStateMachine exactly as SMTPSession feeds them.
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
    let parser: SMTPCommandParser
    var reader: DataReader?
    var discardingOverlongCommand = false
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
        parser = SMTPCommandParser(maximumLineLength: configuration.maximumCommandLineLength)
    }

    mutating func run(_ bytes: [UInt8]) {
        check(machine.greeting)
        let frames = Self.frames(bytes, maximumLineLength: configuration.maximumFrameLength)
        for (index, frame) in frames.enumerated() where !closed {
            perform(handle(frame, morePending: index + 1 < frames.count))
        }
        if !closed, reader == nil { perform(machine.timedOut()) }
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

    /// SMTPSession.handle(.frame) / handleCommand / handleData.
    mutating func handle(_ frame: SMTPFrame, morePending: Bool) -> SMTPServerStateMachine.Action {
        if var current = reader {
            switch current.consume(frame.bytes, endsLine: frame.endsLine) {
            case .content(let bytes):
                precondition(current.rejection == nil || bytes.readableBytes == 0, "content after a rejection")
                precondition(current.messageSize <= configuration.maximumMessageSize || current.rejection != nil)
                reader = current
                return .none
            case .endOfData:
                precondition(current.isFinished)
                reader = nil
                return machine.dataFinished(rejection: current.rejection)
            }
        }
        if discardingOverlongCommand {
            if frame.endsLine { discardingOverlongCommand = false }
            return .none
        }
        guard frame.endsLine else {
            discardingOverlongCommand = true
            return machine.receivedInvalidCommand(SMTPReply(.syntaxError, .syntaxError, "line too long"))
        }
        do {
            let command = try parser.parse(frame.bytes)
            if command == .data, configuration.rejectPipelinedData, morePending {
                return machine.receivedPipelinedData()
            }
            return machine.receivedCommand(command)
        } catch {
            check(error)
            return machine.receivedInvalidCommand(error)
        }
    }

    /// SMTPSession.run's action loop, with the intake and the TLS handshake answered at once.
    mutating func perform(_ first: SMTPServerStateMachine.Action) {
        var action: SMTPServerStateMachine.Action? = first
        while let current = action {
            action = nil
            precondition(machine.state != .error, "state machine in .error: the session misused it")
            switch current {
            case .none:
                break
            case .send(let replies, let close):
                precondition(!replies.isEmpty, "an empty send")
                replies.forEach(check)
                if close {
                    precondition(machine.state == .closed, "closing reply but the machine is not closed")
                    closed = true
                }
            case .startData(let reply):
                check(reply)
                precondition(reply.code.rawValue == 354)
                reader = DataReader(
                    maximumMessageSize: configuration.maximumMessageSize,
                    maximumLineLength: configuration.maximumTextLineLength,
                    maximumHeaderSize: configuration.maximumHeaderSize
                )
            case .startTLS(let reply):
                check(reply)
                action = machine.tlsEstablished()
            case .storeMessage(let envelope):
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
