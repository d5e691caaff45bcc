// ThreadStoreTests' LargeImportMemoryTests, in a process of its own: how much memory SQLite and the process take at
// their peak while ThreadStore imports one large message (issue 23: "seal and store in bounded chunks").

import Foundation
import GRDBSQLite
import ThreadStore

enum ImportPeak {
    /// Imports one message with a body of `bodyMiB` and one attachment of `attachmentMiB` of random octets, then
    /// prints `import-peak <SQLite's memory high-water mark> <process peak resident growth> <stored intact>` (KiB,
    /// KiB, true/false)
    /// and exits 0, or prints the error and exits 1. The high-water marks are reset just before the import.
    static func run(folder: String, bodyMiB: Int, attachmentMiB: Int) async -> Never {
        await HelperReport.run("import peak") {
            let store = try ThreadStore(at: URL(filePath: folder + "/threads.sqlite"), masterKey: .generate())
            let random = try FileHandle(forReadingFrom: URL(filePath: "/dev/urandom"))
            let body = [UInt8](try random.read(upToCount: bodyMiB << 20) ?? Data())
            let attachment = [UInt8](try random.read(upToCount: attachmentMiB << 20) ?? Data())
            try random.close()
            let identity = ClientIdentity(field: try CounsellingField("peak"),
                                          key: try ClientKeyFingerprint(String(repeating: "CD", count: 20)),
                                          address: try ClientAddress("client@example.org"))
            let message = NewMessage(direction: .inbound, messageID: "<peak@example.org>", subject: "peak",
                                     body: body, attachments: attachmentMiB > 0
                                         ? [NewAttachment(name: "a.bin", mediaType: "application/octet-stream",
                                                          content: attachment)] : [],
                                     verdict: .valid, receivedAt: Date())
            var current: Int64 = 0, highwater: Int64 = 0
            sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highwater, 1)
            let residentBefore = HelperReport.statusKiB("VmRSS")
            try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            let outcome = try await store.write { tx in try tx.importMessage(message, into: .client(identity)) }
            sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highwater, 0)
            let peak = HelperReport.statusKiB("VmHWM")
            guard case .stored(let thread, _, _) = outcome else { throw CocoaError(.featureUnsupported) }
            // What was stored opens to exactly what was imported.
            let opened = try await store.read { tx in try tx.openThread(thread) }
            let intact = opened.messages.count == 1 && opened.messages[0].body == body
                && opened.messages[0].attachments.map(\.content) == message.attachments.map(\.content)
            try store.close()
            return "import-peak \(highwater / 1024) \(peak - residentBefore) \(intact)"
        }
    }
}
