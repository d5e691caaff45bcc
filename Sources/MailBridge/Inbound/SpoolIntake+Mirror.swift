public import Foundation
import NIOConcurrencyHelpers

extension SpoolIntake {
    /// Writes message `id` into `incoming` through the same commit protocol as ``accept(_:)``: `content` hands
    /// the message over piece by piece and returns its envelope record (as ``accept(_:)`` writes it). How a
    /// message this node took over from the shared spool (``SpoolMirror``) becomes part of its working copy. Does
    /// nothing when `id` is already in `incoming` or the quarantine, or is being accepted right now. Blocking
    /// file writes.
    /// - Throws: ``SpoolError`` (`corruptEnvelope`) for an envelope that does not read back or names another queue
    ///   ID; what `content` throws. Nothing is left in `tmp` then.
    public func restore(_ id: QueueID,
                        content: (_ write: @escaping @Sendable (_ offset: Int64, _ piece: Data) throws -> Void)
                            async throws -> Data)
        async throws
    {
        guard !contains(id) else { return }
        let file = temporaryFolder.appending(path: "\(id.rawValue).restore").path
        let fd = try POSIXFile.create(file)
        let envelope: Data
        do {
            envelope = try await content { offset, piece in
                // At its offset, so that a read run again writes the same file.
                guard lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else { throw SpoolError(.write, errno: errno) }
                try piece.withUnsafeBytes { try POSIXFile.writeAll(fd, $0) }
            }
            try POSIXFile.sync(fd)
            POSIXFile.closeFile(fd)
        } catch {
            POSIXFile.closeFile(fd)
            try? POSIXFile.remove(file)
            throw error
        }
        do {
            guard let record = try? JSONDecoder().decode(EnvelopeRecord.self, from: envelope),
                  (try? record.envelope())?.queueID == id
            else { throw SpoolError(.corruptEnvelope) }
            try commit(envelope: envelope, id: id, message: file)
        } catch {
            try? POSIXFile.remove(file)
            throw error
        }
    }

    /// `<root>/unshared`: one mark per message accepted while the mirror could not be reached.
    var unsharedMarks: SpoolMarks { SpoolMarks(folder: root.appending(path: "unshared", directoryHint: .isDirectory)) }

    /// Records in ``mirror`` every entry accepted while it could not be reached (oldest first) and removes their
    /// marks; a mark whose entry left `incoming` meanwhile (processed, or quarantined) is removed too. Stops at
    /// the first ``SpoolMirrorUnavailable`` and throws it; an entry the mirror refuses for another reason keeps its
    /// mark (it is still processed here) and is counted as failed.
    public func shareUnshared() async throws -> (recorded: Int, failed: Int) {
        guard let mirror else { return (0, 0) }
        let marks = unsharedMarks
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: marks.folder.path)) ?? []).sorted()
        var recorded = 0, failed = 0
        for name in names where !name.hasSuffix(".tmp") {
            guard let id = QueueID(name) else {
                try? POSIXFile.remove(marks.folder.appending(path: name).path)
                continue
            }
            // Being accepted right now: its commit follows its mark.
            if inFlight.withLockedValue({ $0.contains(id) }) { continue }
            let message = incomingFolder.appending(path: "\(id.rawValue).eml").path
            let envelope = incomingFolder.appending(path: "\(id.rawValue).env").path
            if FileManager.default.fileExists(atPath: message),
               let record = try? POSIXFile.readAll(envelope, limit: 64 * 1024) {
                do {
                    try await mirror.record(id, envelope: Data(record), messageFile: message)
                    recorded += 1
                } catch is SpoolMirrorUnavailable {
                    throw SpoolMirrorUnavailable(reason: "while sharing messages accepted during its absence")
                } catch {
                    failed += 1
                    continue
                }
            }
            try marks.clear(id)
        }
        return (recorded, failed)
    }

    /// `<root>/handed-over`: one mark per entry of `incoming` whose shared copy another node holds (it took it
    /// over): the entry waits, unprocessed, until that node has processed it (then it is dropped) or gave it up.
    public var handedOverMarks: SpoolMarks {
        SpoolMarks(folder: root.appending(path: "handed-over", directoryHint: .isDirectory))
    }

    /// The queue IDs of the entries in `incoming` (names only; nothing is read).
    public func incomingIDs() throws -> [QueueID] {
        try FileManager.default.contentsOfDirectory(atPath: incomingFolder.path)
            .filter { $0.hasSuffix(".eml") }.compactMap { QueueID(String($0.dropLast(4))) }
    }

    /// Whether `id` is in `incoming`, in the quarantine, or being accepted now.
    func contains(_ id: QueueID) -> Bool {
        let name = "\(id.rawValue).eml"
        return inFlight.withLockedValue { $0.contains(id) }
            || FileManager.default.fileExists(atPath: incomingFolder.appending(path: name).path)
            || FileManager.default.fileExists(atPath: quarantineFolder.appending(path: name).path)
    }
}

/// Durable marks on spool entries: one empty file per queue ID in a folder of the spool (``SpoolIntake/
/// unsharedMarks``, ``SpoolIntake/handedOverMarks``). Blocking file calls.
public struct SpoolMarks: Sendable {
    public let folder: URL

    /// The marked entries (names that are not queue IDs, such as a crash's `.tmp`, are not marks).
    public func ids() -> Set<QueueID> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).compactMap(QueueID.init))
    }

    /// Marks `id`, durably.
    public func mark(_ id: QueueID) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = folder.appending(path: id.rawValue).path
        try POSIXFile.writeDurably(Data(), temporary: path + ".tmp", final: path)
    }

    /// Removes the mark of `id`, if any, durably.
    public func clear(_ id: QueueID) throws {
        let path = folder.appending(path: id.rawValue).path
        guard FileManager.default.fileExists(atPath: path) else { return }
        try POSIXFile.remove(path)
        try POSIXFile.syncDirectory(folder.path)
    }
}
