import Foundation
@testable import MailBridge
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 20 in the daemon as `Gateway.start` wires it: a rotation made from the command line (another opened
/// installation) reaches the pipeline, the reply composer's mailbox directory and the decryption binding through
/// the gateway key service.
@Suite(.serialized) struct GatewayKeyDaemonTests {
    @Test func aRotationFromTheCommandLineReachesTheRunningGateway() async throws {
        let folder = URL(fileURLWithPath: "/tmp/mb-keyd-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path))
        configuration.smtp.port = 0
        configuration.metrics.port = 0
        configuration.web.port = 0
        let logs = LogCapture()
        let gateway = try await Gateway.start(configuration, logger: logs.logger())
        defer {
            try? gateway.store.close()
            _ = try? Shell.run("gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"],
                               allowFailure: true)
        }
        let service = try #require(gateway.services(reloadingFrom: nil).compactMap { $0 as? GatewayKeyService }.first)
        let old = try #require(gateway.mailboxes.all.first).gatewayKey
        let address = try #require(gateway.mailboxes.all.first).address.unredactedDescription

        let rotated = await AdminSession.run(configuration: configuration, logger: logs.logger("admin")) {
            try await GatewayKeysAdmin.rotate($0, mailbox: address)
        }
        #expect(rotated.status == .success, "\(rotated.errorOutput)")
        await service.runOnce(forceCheck: true)
        let mailbox = try #require(gateway.mailboxes.all.first)
        #expect(mailbox.gatewayKey != old)
        #expect(mailbox.overlapKeys == [old])
        #expect(gateway.runner.pipeline.configuration.mailboxes.first?.decryptionKeys == [old, mailbox.gatewayKey])
        #expect(logs.all.contains { $0.contains("gateway keys in force updated") })
        #expect(!logs.all.contains { $0.contains(address) }, "a log line names the mailbox address")
    }
}
