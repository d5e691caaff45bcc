import Crypto
import Foundation
import Synchronization
import Testing
@testable import ThreadStore

/// A temporary folder with a master key file; removed by `cleanUp()`.
struct StoreFixture {
    let directory: URL
    let keyURL: URL
    let masterKey: MasterKey
    let clock: FakeClock

    var databaseURL: URL { directory.appending(path: "threads.sqlite") }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "threadstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        keyURL = directory.appending(path: "master.key")
        masterKey = MasterKey.generate()
        try masterKey.write(to: keyURL)
        clock = FakeClock(Date(timeIntervalSince1970: 1_800_000_000))
    }

    func open(key: MasterKey? = nil, url: URL? = nil) throws -> ThreadStore {
        var configuration = ThreadStore.Configuration()
        let clock = self.clock
        configuration.clock = { clock.now }
        return try ThreadStore(at: url ?? databaseURL, masterKey: key ?? masterKey, configuration: configuration)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The bytes of the database file, its WAL and shared-memory file (missing files count as empty).
    func rawFiles(of url: URL? = nil) -> [(name: String, bytes: Data)] {
        let base = (url ?? databaseURL).path
        return ["", "-wal", "-shm"].map { suffix in
            (base + suffix, (try? Data(contentsOf: URL(filePath: base + suffix))) ?? Data())
        }
    }

    /// Whether `needle` occurs anywhere in the database file, WAL or shm.
    func filesContain(_ needle: Data, url: URL? = nil) -> Bool {
        rawFiles(of: url).contains { $0.bytes.range(of: needle) != nil }
    }
}

/// A settable clock for retention and audit timestamps.
final class FakeClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(days: Double) { current.withLock { $0 += days * 86_400 } }
}

enum Sample {
    static let field = try! CounsellingField("sucht")
    static let otherField = try! CounsellingField("familie")

    static func identity(
        _ number: Int = 1,
        field: CounsellingField = Sample.field,
        address: String? = nil
    ) -> ClientIdentity {
        let hex = String(format: "%040X", number)
        return ClientIdentity(
            field: field,
            key: try! ClientKeyFingerprint(hex),
            address: try! ClientAddress(address ?? "client\(number)@example.org")
        )
    }

    static func message(
        _ tag: String,
        body: String? = nil,
        subject: String? = nil,
        at date: Date,
        direction: MessageDirection = .inbound,
        attachments: [NewAttachment] = [],
        ciphertext: String? = nil
    ) -> NewMessage {
        NewMessage(
            direction: direction,
            messageID: "<\(tag)@mail.example.org>",
            subject: subject ?? "Subject \(tag)",
            body: Array((body ?? "Body of \(tag)").utf8),
            attachments: attachments,
            verdict: .valid,
            receivedAt: date,
            replayFingerprints: ciphertext.map { [replayFingerprint($0)] } ?? []
        )
    }

    /// Stands in for ``ThreadStore/replayFingerprint(_:_:)`` in tests that have no store at hand.
    static func replayFingerprint(_ text: String) -> ReplayFingerprint {
        ReplayFingerprint(bytes: Data(SHA256.hash(data: Data(text.utf8))))
    }
}

extension ImportOutcome {
    var storedThread: ThreadID? {
        if case .stored(let thread, _, _) = self { return thread }
        return nil
    }
    var storedMessage: StoredMessageID? {
        if case .stored(_, let message, _) = self { return message }
        return nil
    }
}

extension Date {
    /// The date as the store keeps it (Unix milliseconds).
    var truncatedToStoreMilliseconds: Date { Date(storeMilliseconds: storeMilliseconds) }

}
