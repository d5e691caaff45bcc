import Foundation
import Testing

/// The rooms of `Sources/MailBridge` use only the rooms docs/architecture.md allows, and mail enters the outbox
/// only through `Outbox.enqueue(_:in:)` (issue 19). The checker itself is shown to catch a planted violation of
/// each kind, so a green run means something.
@Suite struct ArchitectureTests {
    private let checker = packageRoot.appendingPathComponent("scripts/check-rooms").path
    private let architecture = packageRoot.appendingPathComponent("docs/architecture.md").path
    private let sources = packageRoot.appendingPathComponent("Sources/MailBridge")

    @Test func everyRoomUsesOnlyTheRoomsItMay() throws {
        let result = try runProcess("/usr/bin/python3", [checker, sources.path, architecture])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("no forbidden use"))
    }

    @Test func aForbiddenUseIsReported() throws {
        let folder = try copyOfSources()
        defer { folder.remove() }
        // The address room may use nothing: naming the pipeline there breaks the layering.
        try "extension EmailAddress { func broken(_ p: Pipeline) {} }\n"
            .write(toFile: folder.path + "/Mail/Planted.swift", atomically: true, encoding: .utf8)
        let result = try runProcess("/usr/bin/python3", [checker, folder.path, architecture])
        #expect(result.status == 1)
        #expect(result.output.contains("Mail -> Pipeline: Pipeline (Mail/Planted.swift)"), "\(result.output)")
    }

    @Test func aSecondWayIntoTheOutboxIsReported() throws {
        let folder = try copyOfSources()
        defer { folder.remove() }
        try "import ThreadStore\nfunc planted(_ tx: WriteTransaction, _ item: NewOutboxItem) throws {\n"
            .appending("    _ = try tx.enqueueOutbox(item)\n}\n")
            .write(toFile: folder.path + "/Web/Planted.swift", atomically: true, encoding: .utf8)
        let result = try runProcess("/usr/bin/python3", [checker, folder.path, architecture])
        #expect(result.status == 1)
        #expect(result.output.contains("Web/Planted.swift: mail enters the outbox only through"), "\(result.output)")
    }

    @Test func aFileOutsideEveryRoomIsReported() throws {
        let folder = try copyOfSources()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path + "/Misc", withIntermediateDirectories: true)
        try "struct Stray {}\n".write(toFile: folder.path + "/Misc/Stray.swift", atomically: true, encoding: .utf8)
        let result = try runProcess("/usr/bin/python3", [checker, folder.path, architecture])
        #expect(result.status == 1)
        #expect(result.output.contains("Misc/Stray.swift: not in a room"), "\(result.output)")
    }

    private func copyOfSources() throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        try FileManager.default.removeItem(at: folder.url)
        try FileManager.default.copyItem(at: sources, to: folder.url)
        return folder
    }
}
