import Foundation
import Logging
import MailBridge
import MailValues
import NIOCore
import ServiceLifecycle

/// A real listener on 127.0.0.1:0 with a spool in a unique temporary folder (mox `newTestServer`).
final class SMTPTestServer: Sendable {
    static let counselling = try! EmailAddress("beratung@example.org")
    static let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    let folder: URL
    let spool: SpoolIntake
    let listener: SMTPListener
    let group: ServiceGroup
    let runTask: Task<Void, any Error>

    let port: Int

    init(
        configuration: SMTPServerConfiguration = SMTPServerConfiguration(hostname: "mx.test"),
        intake: ((SpoolIntake) -> any MessageIntake)? = nil,
        tls: SMTPTLSConfiguration? = nil,
        spoolRoot: URL? = nil,
        logger: Logger = SMTPTestServer.quietLogger
    ) async throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "mailbridge-smtp-\(UUID().uuidString)")
        spool = try SpoolIntake(root: spoolRoot ?? folder.appending(path: "spool"))
        listener = try await SMTPListener.bind(
            host: "127.0.0.1",
            port: 0,
            configuration: configuration,
            policy: RecipientPolicy(accepting: [Self.counselling, try EmailAddress("team@example.org")]),
            intake: intake?(spool) ?? spool,
            tls: tls,
            logger: logger
        )
        port = listener.localAddress!.port!
        let group = ServiceGroup(services: [listener], logger: Self.quietLogger)
        self.group = group
        runTask = Task { try await group.run() }
    }

    /// Graceful shutdown, then waits for the listener to finish; removes the folder.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await runTask.value
        try? FileManager.default.removeItem(at: folder)
    }

    func pendingMessages() throws -> [InboundMessage] { try spool.pending() }
}
