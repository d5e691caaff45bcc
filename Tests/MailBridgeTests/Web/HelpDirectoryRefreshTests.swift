import Foundation
import Hummingbird
import HummingbirdTesting
import MailBridge
import NIOCore
import PGPShim
import TestSupport
import Testing
import ThreadStore

/// Issue 20: after a rotation the running inbox server's help page, key download and WKD routes serve the new
/// key (``HelpDirectory/publish(_:)`` reaches the copy the routes hold), without a restart.
@Suite struct HelpDirectoryRefreshTests {
    @Test func publishedEntriesReachTheRoutes() async throws {
        let pipe = try await PipelineHarness()
        let directory = try await HelpDirectory.make(mailboxes: [pipe.mailbox], pgp: pipe.pgp, receiptPeriodHours: nil)
        var services = WebServices(store: pipe.store, replies: ReplyComposer(
            store: pipe.store, pgp: pipe.pgp, mailboxes: [pipe.mailbox], logger: pipe.logs.logger("reply")),
            logger: pipe.logs.logger("web"))
        services.help = directory
        let app = Application(router: WebRouter.make(services: services), logger: pipe.logs.logger("hb"))
        let old = pipe.gateway
        let new = try await pipe.pgp.generateKey(userID: "Beratung <\(PipelineHarness.counselling)>",
                                                 expiresInSeconds: 86_400)
        let hash = WebKeyDirectory.hashedLocalPart(pipe.mailbox.address.localPart)
        try await app.test(.router) { client in
            func wkd() async throws -> [String] {
                let response = try await client.execute(uri: "/.well-known/openpgpkey/hu/\(hash)", method: .get)
                return try HelpPageTests.gpgFingerprints(Array(buffer: response.body), in: pipe.client)
            }
            // gpg lists primary keys and subkeys; the primary key comes first.
            let before = try await wkd()
            #expect(before.first == old.hex && !before.contains(new.hex))
            var rotated = pipe.mailbox
            rotated.gatewayKey = new
            rotated.overlapKeys = [old]
            directory.publish(try await HelpDirectory.entries(mailboxes: [rotated], pgp: pipe.pgp))
            let after = try await wkd()
            #expect(after.first == new.hex && after.contains(old.hex))
            let page = String(buffer: try await client.execute(uri: "/help", method: .get).body)
            #expect(page.contains(HelpPageTests.groupsOfFour(new.hex)))
            #expect(!page.contains(HelpPageTests.groupsOfFour(old.hex)))
            #expect(try await client.execute(uri: "/help/keys/\(new.hex).asc", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/help/keys/\(old.hex).asc", method: .get).status == .notFound)
        }
        await pipe.close()
    }
}
