import Foundation
import MailBridge
import NIOCore
import TestSupport
import Testing

/// Issue 18 (4): the smarthost's 250 is recorded the moment it arrives, before QUIT, so a crash after the
/// acceptance resends nothing. The server here accepts the message and then never answers QUIT: the outbox row
/// must be marked delivered while the connection still hangs.
@Suite(.timeLimit(.minutes(2)))
struct EarlyDeliveryRecordTests {
    typealias Step = OutboundScriptedServer.Step

    @Test func acceptanceIsRecordedBeforeQuit() async throws {
        let server = try OutboundScriptedServer.start(
            SMTPClientEdgeCaseTests.greetingAndEHLO + [
                Step(send: "250 ok\r\n"), Step(send: "250 ok\r\n"), Step(send: "354 go\r\n"),
                Step(send: ""), Step(send: ""), Step(send: ""),  // the three body lines
                Step(send: "250 2.0.0 queued\r\n"),  // the final "."
                Step(send: ""),  // QUIT: read, never answered; the server then waits for the client to close
            ])
        defer { server.stop() }
        let store = InMemoryOutboxStore()
        let id = await store.add(SMTPClientEdgeCaseTests.envelope, message: "Subject: t\r\n\r\nbody\r\n")
        let queue = OutboundQueue(store: store, deliverer: SMTPClientEdgeCaseTests.client(server),
                                  policy: OutboundQueueTests.fastPolicy)
        let task = Task { try await queue.run() }
        defer { task.cancel() }
        queue.kick()
        // The client waits up to its step timeout (5 s) for the reply to QUIT; the record must come first.
        let started = ContinuousClock.now
        #expect(await OutboundQueueTests.eventually(.seconds(4)) { await store.state(id) == .delivered })
        #expect(ContinuousClock.now - started < .seconds(4))
        #expect(await store.deliveredMarks[id] == 1)
        // When the QUIT exchange ends (timeout), the result is not recorded a second time.
        try await Task.sleep(for: .seconds(6))
        #expect(await store.deliveredMarks[id] == 1)
        #expect(await store.state(id) == .delivered)
    }
}
