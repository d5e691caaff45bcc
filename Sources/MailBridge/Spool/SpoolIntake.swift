public import Foundation
import NIOPosix

/// The durable intake on disk (STYLE.md §10, mox `queue.Add`): `<root>/tmp` for messages being received,
/// `<root>/incoming` for accepted ones. ``accept(_:)`` writes the envelope beside the message, renames both into
/// `incoming` (the message rename is the commit point) and fsyncs the folder; only then may SMTP answer 250.
///
/// Security: stores untrusted content and envelope addresses in clear inside the daemon's private data folder;
/// nothing here parses the content. File names are only queue IDs.
///
/// ```swift
/// let spool = try SpoolIntake(root: dataFolder.appending(path: "spool"))
/// try spool.recover()                        // at startup: drop half-received files
/// for message in try spool.pending() { ... ; try spool.remove(message) }
/// ```
public struct SpoolIntake: MessageIntake {
    public let root: URL
    public let temporaryFolder: URL
    public let incomingFolder: URL

    /// Creates `<root>/tmp` and `<root>/incoming` (0700) if needed.
    public init(root: URL) throws {
        self.root = root
        temporaryFolder = root.appending(path: "tmp", directoryHint: .isDirectory)
        incomingFolder = root.appending(path: "incoming", directoryHint: .isDirectory)
        for folder in [root, temporaryFolder, incomingFolder] {
            try FileManager.default.createDirectory(
                at: folder,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        }
    }

    /// A new temporary message file in `tmp`.
    public func makeSpoolFile(queueID: QueueID) throws -> SpoolFile {
        try SpoolFile(queueID: queueID, url: temporaryFolder.appending(path: "\(queueID.rawValue).eml"))
    }

    public func accept(_ message: InboundMessage) async throws -> IntakeReceipt {
        guard
            message.spoolFile.deletingLastPathComponent().standardizedFileURL.path
                == temporaryFolder.standardizedFileURL.path
        else { throw SpoolError(.foreignFile) }
        let id = message.queueID.rawValue
        let record = try JSONEncoder().encode(EnvelopeRecord(message.envelope))
        let temporaryEnvelope = temporaryFolder.appending(path: "\(id).env").path
        let finalEnvelope = incomingFolder.appending(path: "\(id).env").path
        let finalMessage = incomingFolder.appending(path: "\(id).eml").path
        let sourceMessage = message.spoolFile.path
        let incoming = incomingFolder.path
        try await NIOThreadPool.singleton.runIfActive {
            do {
                let fd = try POSIXFile.create(temporaryEnvelope)
                defer { POSIXFile.closeFile(fd) }
                try record.withUnsafeBytes { try POSIXFile.writeAll(fd, $0) }
                try POSIXFile.sync(fd)
                try POSIXFile.move(temporaryEnvelope, finalEnvelope)
                try POSIXFile.move(sourceMessage, finalMessage)  // commit point
                try POSIXFile.syncDirectory(incoming)
            } catch {
                // Undo what can be undone; a crash between the renames leaves an orphan .env that recover() drops.
                if FileManager.default.fileExists(atPath: finalMessage) {
                    try? POSIXFile.move(finalMessage, sourceMessage)
                }
                try? POSIXFile.remove(temporaryEnvelope)
                try? POSIXFile.remove(finalEnvelope)
                throw error
            }
        }
        return IntakeReceipt(queueID: message.queueID, location: finalMessage)
    }

    /// Startup clean-up: deletes half-received files in `tmp` and envelope files without their message.
    /// Returns how many files were removed.
    @discardableResult
    public func recover() throws -> Int {
        var removed = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: temporaryFolder.path) {
            try POSIXFile.remove(temporaryFolder.appending(path: name).path)
            removed += 1
        }
        let incoming = Set(try FileManager.default.contentsOfDirectory(atPath: incomingFolder.path))
        for name in incoming where name.hasSuffix(".env") && !incoming.contains(name.dropLast(4) + ".eml") {
            try POSIXFile.remove(incomingFolder.appending(path: name).path)
            removed += 1
        }
        if removed > 0 {
            try POSIXFile.syncDirectory(temporaryFolder.path)
            try POSIXFile.syncDirectory(incomingFolder.path)
        }
        return removed
    }

    /// Messages accepted but not yet removed, oldest first. The pipeline processes each and then calls
    /// ``remove(_:)``.
    public func pending() throws -> [InboundMessage] {
        let names = try FileManager.default.contentsOfDirectory(atPath: incomingFolder.path)
        var messages: [InboundMessage] = []
        for name in names.sorted() where name.hasSuffix(".eml") {
            guard let id = QueueID(String(name.dropLast(4))) else { continue }
            let messageURL = incomingFolder.appending(path: name)
            let data = try Data(contentsOf: incomingFolder.appending(path: "\(id.rawValue).env"))
            let envelope = try JSONDecoder().decode(EnvelopeRecord.self, from: data).envelope()
            let size = try FileManager.default.attributesOfItem(atPath: messageURL.path)[.size] as? Int ?? 0
            messages.append(InboundMessage(envelope: envelope, spoolFile: messageURL, size: size))
        }
        return messages
    }

    /// Deletes a processed message (message first: once it is gone the message is no longer pending).
    public func remove(_ message: InboundMessage) throws {
        let id = message.queueID.rawValue
        try POSIXFile.remove(incomingFolder.appending(path: "\(id).eml").path)
        try POSIXFile.remove(incomingFolder.appending(path: "\(id).env").path)
        try POSIXFile.syncDirectory(incomingFolder.path)
    }
}
