import Foundation
import Logging
import MailBridge
import NIOCore
import NIOPosix
import Testing

/// A port already in use is reported with the listener's name and address (issue 22), through the gateway's own
/// start-up: the SMTP listener binds in `Gateway.start`, the web inbox when the gateway runs.
@Suite struct BindFailureTests {
    private func occupiedPort() async throws -> (any Channel, Int) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        return (channel, try #require(channel.localAddress?.port))
    }

    private func configuration(_ folder: TemporaryFolder) throws -> BridgeConfiguration {
        var configuration = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(folder.path + "/data"))
        configuration.smtp.port = 0
        configuration.metrics.port = 0
        configuration.web.port = 0
        return configuration
    }

    @Test func theSMTPListenerNamesItsAddress() async throws {
        let folder = try TemporaryFolder()
        let (taken, port) = try await occupiedPort()
        var configuration = try configuration(folder)
        defer {
            _ = try? runProcess("/usr/bin/gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"])
            folder.remove()
        }
        configuration.smtp.port = port
        do {
            _ = try await Gateway.start(configuration, logger: .init(label: "bind-test"))
            Issue.record("the gateway started on a port in use")
        } catch let error as BindFailure {
            #expect(error.description == "the SMTP listener cannot listen on 127.0.0.1:\(port): the address is "
                        + "already in use (another server, or MailBridge running already?)")
        }
        try await taken.close()
    }

    @Test(.timeLimit(.minutes(1))) func theWebInboxNamesItsAddress() async throws {
        let folder = try TemporaryFolder()
        let (taken, port) = try await occupiedPort()
        var configuration = try configuration(folder)
        defer {
            _ = try? runProcess("/usr/bin/gpgconf", ["--homedir", configuration.keys.gnupgHome.string, "--kill", "all"])
            folder.remove()
        }
        configuration.web.port = port
        let gateway = try await Gateway.start(configuration, logger: .init(label: "bind-test"))
        await #expect {
            try await gateway.run()
        } throws: { error in
            "\(error)".contains("the web inbox cannot listen on 127.0.0.1:\(port): the address is already in use")
        }
        try await taken.close()
    }
}
