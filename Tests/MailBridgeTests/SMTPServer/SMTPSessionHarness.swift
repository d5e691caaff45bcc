import Foundation
import Logging
@testable import MailBridge
import MailValues
import NIOCore
import NIOEmbedded
import NIOSSL
import Synchronization

/// One ``SMTPSession`` on an `NIOAsyncTestingChannel`: the listener's own pipeline (framer, timers, signals) and a
/// real spool in a unique temporary folder, without sockets. The test writes client bytes inbound and reads the
/// session's replies from the outbound side; the intake records what it was handed and stores it in the spool.
/// Time is the testing event loop's: the connection's timers and the session's clock move only with
/// ``advanceTime(by:)``, so timeouts are tested without waiting.
final class SMTPSessionHarness {
    /// Whether the session is told the listener is under stress.
    final class StressFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Stores in the spool and remembers every message it accepted.
    final class RecordingIntake: MessageIntake {
        let spool: SpoolIntake
        let accepted = Mutex<[InboundMessage]>([])
        let fails: Bool

        init(spool: SpoolIntake, fails: Bool) {
            self.spool = spool
            self.fails = fails
        }

        func makeSpoolFile(queueID: QueueID) throws -> SpoolFile {
            try spool.makeSpoolFile(queueID: queueID)
        }

        func backlogCount() -> Int { spool.backlogCount() }

        func accept(_ message: InboundMessage) async throws -> IntakeReceipt {
            if fails { throw SpoolError(.sync, errno: 5) }
            let receipt = try await spool.accept(message)
            accepted.withLock { $0.append(message) }
            return receipt
        }
    }

    let channel: NIOAsyncTestingChannel
    let folder: URL
    let spool: SpoolIntake
    let intake: RecordingIntake
    let stress = StressFlag()
    private let session: Task<Void, Never>
    private let watchdog: Task<Void, any Error>
    private var buffer = ByteBuffer()

    init(
        configuration: SMTPServerConfiguration = SMTPServerConfiguration(hostname: "mx.test"),
        intakeFails: Bool = false,
        tls: SMTPTLSConfiguration? = nil
    ) async throws {
        let sslContext = try tls?.makeContext()
        folder = FileManager.default.temporaryDirectory.appending(path: "mailbridge-session-\(UUID().uuidString)")
        spool = try SpoolIntake(root: folder.appending(path: "spool"))
        intake = RecordingIntake(spool: spool, fails: intakeFails)
        let channel = NIOAsyncTestingChannel()
        self.channel = channel
        let connection = try await channel.testingEventLoop.executeInContext {
            try SMTPListener.makeConnection(on: channel, configuration: configuration)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 40000)).get()
        let policy = RecipientPolicy(accepting: [SMTPTestServer.counselling, try EmailAddress("team@example.org")])
        let (intake, stress) = (intake, stress)
        // The session's clock: the testing loop's virtual time, counted from a real instant.
        let loop = channel.testingEventLoop
        let (realStart, loopStart) = (ContinuousClock.now, loop.now)
        let now: @Sendable () -> ContinuousClock.Instant = {
            realStart + .nanoseconds(Int64(loop.now.uptimeNanoseconds - loopStart.uptimeNanoseconds))
        }
        session = Task {
            try? await connection.channel.executeThenClose { inbound in
                var session = SMTPSession(
                    channel: channel,
                    gate: connection.gate,
                    configuration: configuration,
                    policy: policy,
                    intake: intake,
                    sslContext: sslContext,
                    clientAddress: PeerAddress("192.0.2.7"),
                    logger: SMTPTestServer.quietLogger,
                    now: now
                )
                session.underStress = { stress.value.load(ordering: .relaxed) }
                await session.run(inbound)
            }
        }
        // A session that never answers must not hang the test run: closing the channel ends every wait.
        watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            try? await channel.close()
        }
    }

    /// Tells the session the listener is (not) near its connection limit.
    func setUnderStress(_ underStress: Bool) {
        stress.value.store(underStress, ordering: .relaxed)
    }

    /// Moves the event loop's time (the connection's timers fire) and the session's clock.
    func advanceTime(by amount: Duration) async {
        await channel.testingEventLoop.advanceTime(by: TimeAmount(amount))
    }

    /// What the listener does to every session on graceful shutdown.
    func requestShutdown() async throws {
        let channel = self.channel
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(SMTPShutdownSignal())
        }
    }

    /// Whether the TLS handler sits first in the pipeline (added after the 220 to STARTTLS).
    func hasTLSHandler() async throws -> Bool {
        let channel = self.channel
        return try await channel.testingEventLoop.executeInContext {
            (try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil
        }
    }

    /// Client bytes, as one read.
    func send(_ text: String) async throws {
        try await channel.writeInbound(ByteBuffer(string: text))
    }

    /// The next complete reply, or nil when the session closed the connection.
    func readReply() async throws -> RawSMTPClient.Reply? {
        var lines: [String] = []
        while true {
            let view = buffer.readableBytesView
            if let lf = view.firstIndex(of: UInt8(ascii: "\n")) {
                let length = view.distance(from: view.startIndex, to: lf) + 1
                var line = String(buffer: buffer.readSlice(length: length)!)
                while line.last?.isNewline == true { line.removeLast() }  // "\r\n" is one Character
                lines.append(line)
                if line.dropFirst(3).first != "-" {
                    return RawSMTPClient.Reply(code: Int(line.prefix(3)) ?? -1, lines: lines)
                }
                continue
            }
            do {
                var more = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
                buffer.writeBuffer(&more)
            } catch ChannelError.ioOnClosedChannel {
                return nil
            }
        }
    }

    /// Sends a line with CRLF and returns the reply code (-1 when the session closed).
    func command(_ line: String) async throws -> Int {
        try await send(line + "\r\n")
        return try await readReply()?.code ?? -1
    }

    /// The codes of the next `count` replies (-1 for each missing one).
    func codes(_ count: Int) async throws -> [Int] {
        var codes: [Int] = []
        for _ in 0..<count { codes.append(try await readReply()?.code ?? -1) }
        return codes
    }

    /// Reads until the session closes; returns the replies on the way.
    func readUntilClosed() async throws -> [RawSMTPClient.Reply] {
        var replies: [RawSMTPClient.Reply] = []
        while let reply = try await readReply() { replies.append(reply) }
        return replies
    }

    /// What the intake accepted so far.
    var accepted: [InboundMessage] { intake.accepted.withLock { $0 } }

    /// Files left in the spool's temporary folder (a discarded or handed-over spool file leaves none).
    func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: spool.temporaryFolder.path)
    }

    /// The client goes away (if the session has not closed already); waits until the session has ended.
    func clientCloses() async {
        try? await channel.close()
        await session.value
    }

    /// Ends the session if it still runs, waits for it, removes the folder.
    func finish() async {
        await clientCloses()
        watchdog.cancel()
        try? FileManager.default.removeItem(at: folder)
    }
}
