public import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import PGPShim

/// The durable intake on disk (STYLE.md §10, mox `queue.Add`): `<root>/tmp` for messages being received,
/// `<root>/incoming` for accepted ones, `<root>/quarantine` for entries that cannot be read (one damaged file
/// never stops the rest; ``scan()``). ``accept(_:)`` writes the envelope beside the message, renames both into
/// `incoming` (the message rename is the commit point) and fsyncs the folder; only then may SMTP answer 250.
///
/// Security: stores untrusted content and envelope addresses in clear inside the daemon's private data folder;
/// nothing here parses the content. File names are only queue IDs.
///
/// ```swift
/// let spool = try SpoolIntake(root: dataFolder.appending(path: "spool"))
/// try spool.recover()                        // at startup, before any listener: drop half-received files
/// for message in try spool.scan().messages { ... ; try spool.remove(message) }
/// ```
public struct SpoolIntake: MessageIntake {
    public let root: URL
    public let temporaryFolder: URL
    public let incomingFolder: URL
    public let quarantineFolder: URL
    /// Where an accepted message is also recorded before the `250` (PostgreSQL's shared spool); nil on one node.
    public let mirror: (any SpoolMirror)?
    /// Messages between their record in ``mirror`` and their commit here: not restored from the mirror meanwhile.
    let inFlight = NIOLockedValueBox<Set<QueueID>>([])

    /// Creates `<root>/tmp`, `<root>/incoming` and `<root>/quarantine` (0700) if needed.
    public init(root: URL, mirror: (any SpoolMirror)? = nil) throws {
        self.root = root
        self.mirror = mirror
        temporaryFolder = root.appending(path: "tmp", directoryHint: .isDirectory)
        incomingFolder = root.appending(path: "incoming", directoryHint: .isDirectory)
        quarantineFolder = root.appending(path: "quarantine", directoryHint: .isDirectory)
        for folder in [root, temporaryFolder, incomingFolder, quarantineFolder] {
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
        let record = try JSONEncoder().encode(EnvelopeRecord(message.envelope))
        let finalMessage = incomingFolder.appending(path: "\(message.queueID.rawValue).eml").path
        let source = message.spoolFile.path
        let spool = self
        guard let mirror else {
            try await NIOThreadPool.singleton.runIfActive {
                try spool.commit(envelope: record, id: message.queueID, message: source)
            }
            return IntakeReceipt(queueID: message.queueID, location: finalMessage)
        }
        // Recorded outside this node first: when this node's commit fails, the caller answers 451 and the copy
        // is released; should that release fail, the message is processed once anyway (the client's retry is then
        // recognised as a repeat). When the mirror cannot be reached (the database is away), the message is accepted
        // into this node's spool alone, marked unshared, and recorded once the mirror is back (``shareUnshared()``);
        // any other failure of the mirror refuses the message (451), as a failed fsync would.
        inFlight.withLockedValue { _ = $0.insert(message.queueID) }
        defer { inFlight.withLockedValue { _ = $0.remove(message.queueID) } }
        var shared = true
        do {
            try await mirror.record(message.queueID, envelope: record, messageFile: source)
        } catch is SpoolMirrorUnavailable {
            shared = false
            try await NIOThreadPool.singleton.runIfActive { try spool.unsharedMarks.mark(message.queueID) }
        }
        do {
            try await NIOThreadPool.singleton.runIfActive {
                try spool.commit(envelope: record, id: message.queueID, message: source)
            }
        } catch {
            if shared { try? await mirror.release(message.queueID) } else { try? spool.unsharedMarks.clear(message.queueID) }
            throw error
        }
        return IntakeReceipt(queueID: message.queueID, location: finalMessage)
    }

    /// The commit protocol of an entry (STYLE.md §10): the envelope is written to `tmp`, fsynced and renamed into
    /// `incoming`; then the message file is renamed after it (the commit point) and the folder fsynced. On
    /// failure, what can be undone is undone; a crash between the renames leaves an orphan `.env` that
    /// ``recover()`` drops. Blocking: call it off the event loops.
    func commit(envelope record: Data, id: QueueID, message source: String) throws {
        let temporaryEnvelope = temporaryFolder.appending(path: "\(id.rawValue).env").path
        let finalEnvelope = incomingFolder.appending(path: "\(id.rawValue).env").path
        let finalMessage = incomingFolder.appending(path: "\(id.rawValue).eml").path
        do {
            try POSIXFile.writeDurably(record, temporary: temporaryEnvelope, final: finalEnvelope)
            try POSIXFile.move(source, finalMessage)  // commit point
            try POSIXFile.syncDirectory(incomingFolder.path)
        } catch {
            if FileManager.default.fileExists(atPath: finalMessage) { try? POSIXFile.move(finalMessage, source) }
            try? POSIXFile.remove(temporaryEnvelope)
            try? POSIXFile.remove(finalEnvelope)
            throw error
        }
    }

    /// Startup clean-up: deletes half-received files in `tmp`, envelope files without their message, and ciphertext
    /// files a crash left in `incoming` (only the named fallback of PGPShim's `CiphertextFile` can be left).
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
        // Ciphertext files the pipeline decrypts from are unnamed; a named fallback a crash left is removed here.
        removed += CiphertextFile.removeLeftovers(in: incomingFolder)
        if removed > 0 {
            try POSIXFile.syncDirectory(temporaryFolder.path)
            try POSIXFile.syncDirectory(incomingFolder.path)
        }
        return removed
    }

    /// Messages accepted but not yet removed, oldest first (entries that cannot be read are quarantined).
    public func pending() throws -> [InboundMessage] { try scan().messages }

    /// Lists `incoming`: every message whose envelope reads back, oldest first, ready for the pipeline. Every
    /// entry that cannot be read (``QuarantineCause``) is moved to `quarantine/` at once, so it is listed once
    /// and never blocks the others. Throws only if the folder itself cannot be listed.
    public func scan() throws -> SpoolScan {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: incomingFolder.path)
        } catch {
            throw SpoolError(.list)
        }
        var scan = SpoolScan(messages: [], quarantined: [])
        for name in names.sorted() where name.hasSuffix(".eml") {
            let base = String(name.dropLast(4))
            let messageURL = incomingFolder.appending(path: name)
            guard let id = QueueID(base) else {
                scan.quarantined += try quarantine(base, .foreignName)
                continue
            }
            let envelopeURL = incomingFolder.appending(path: "\(id.rawValue).env")
            guard FileManager.default.fileExists(atPath: envelopeURL.path) else {
                // accept() writes the envelope before the message rename, so this is not an entry in progress.
                scan.quarantined += try quarantine(base, .missingEnvelope)
                continue
            }
            let data: [UInt8], size: Int
            do {
                data = try POSIXFile.readAll(envelopeURL.path, limit: 64 * 1024)
                size = try POSIXFile.size(messageURL.path)
            } catch {
                scan.quarantined += try quarantine(base, .unreadable)
                continue
            }
            let record: EnvelopeRecord
            do {
                record = try JSONDecoder().decode(EnvelopeRecord.self, from: Data(data))
            } catch {
                let version = (try? JSONDecoder().decode(EnvelopeVersion.self, from: Data(data)))?.version
                scan.quarantined += try quarantine(base, version.map { $0 != 1 } == true ? .unknownVersion
                                                       : .corruptEnvelope)
                continue
            }
            guard record.version == 1 else {
                scan.quarantined += try quarantine(base, .unknownVersion)
                continue
            }
            guard let envelope = try? record.envelope(), envelope.queueID == id else {
                scan.quarantined += try quarantine(base, .corruptEnvelope)
                continue
            }
            scan.messages.append(InboundMessage(envelope: envelope, spoolFile: messageURL, size: size))
        }
        return scan
    }

    /// Moves `<base>.eml` (and `<base>.env`, if any) from `incoming` to `quarantine` beside a `<base>.reason`
    /// file naming the cause, and makes it durable. Returns the entry, or nothing if the files went away meanwhile.
    private func quarantine(_ base: String, _ cause: QuarantineCause) throws -> [QuarantinedEntry] {
        let from = incomingFolder.appending(path: base).path, to = quarantineFolder.appending(path: base).path
        guard FileManager.default.fileExists(atPath: from + ".eml") else { return [] }
        try POSIXFile.writeDurably(Data("\(cause.rawValue)\n".utf8), temporary: to + ".reason.tmp",
                                   final: to + ".reason")
        let hasEnvelope = FileManager.default.fileExists(atPath: from + ".env")
        let size = (try? POSIXFile.size(from + ".eml")) ?? 0
        if hasEnvelope { try POSIXFile.move(from + ".env", to + ".env") }
        try POSIXFile.move(from + ".eml", to + ".eml")
        try POSIXFile.syncDirectory(quarantineFolder.path)
        try POSIXFile.syncDirectory(incomingFolder.path)
        return [QuarantinedEntry(name: base, cause: cause, quarantinedAt: Date(), hasEnvelope: hasEnvelope,
                                 size: size)]
    }

    /// The quarantined entries, by name.
    public func quarantined() throws -> [QuarantinedEntry] {
        let names = try FileManager.default.contentsOfDirectory(atPath: quarantineFolder.path)
        return names.sorted().filter { $0.hasSuffix(".eml") }.map { name in
            let base = String(name.dropLast(4))
            let path = quarantineFolder.appending(path: base).path
            let text = (try? POSIXFile.readAll(path + ".reason", limit: 256))
                .map { String(decoding: $0, as: UTF8.self) }
            let cause = text.flatMap { QuarantineCause(rawValue: $0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + ".eml")
            return QuarantinedEntry(
                name: base, cause: cause ?? .unreadable,
                quarantinedAt: (try? FileManager.default.attributesOfItem(atPath: path + ".reason"))?[.modificationDate]
                    as? Date ?? Date(timeIntervalSince1970: 0),
                hasEnvelope: FileManager.default.fileExists(atPath: path + ".env"),
                size: attributes?[.size] as? Int ?? 0)
        }
    }

    /// Puts a quarantined entry back into `incoming` under a new queue ID, with its own envelope if that reads
    /// back, else with `envelope` (an administrator's sender and recipients). The entry leaves the quarantine. With
    /// `share`, marked for the shared spool as ``inject(_:envelope:now:share:)`` does.
    public func reinject(_ name: String, envelope replacement: InboundMessage.Envelope? = nil,
                         now: Date = Date(), share: Bool = false) throws -> QueueID {
        guard Self.isPlainName(name) else { throw SpoolError(.foreignFile) }
        let path = quarantineFolder.appending(path: name).path
        guard FileManager.default.fileExists(atPath: path + ".eml") else { throw SpoolError(.open, errno: ENOENT) }
        var envelope = replacement
        if envelope == nil, let data = try? POSIXFile.readAll(path + ".env", limit: 64 * 1024),
            let record = try? JSONDecoder().decode(EnvelopeRecord.self, from: Data(data))
        {
            envelope = try? record.envelope()
        }
        guard var envelope else { throw SpoolError(.corruptEnvelope) }
        let id = QueueID.make(millisecondsSince1970: UInt64(now.timeIntervalSince1970 * 1000))
        envelope.queueID = id
        try commit(envelope: try JSONEncoder().encode(EnvelopeRecord(envelope)), id: id, message: path + ".eml")
        if share { markUnshared(id) }
        try? POSIXFile.remove(path + ".env")
        try? POSIXFile.remove(path + ".reason")
        try POSIXFile.syncDirectory(quarantineFolder.path)
        return id
    }

    /// Deletes a quarantined entry (message, envelope, reason) for good.
    public func deleteQuarantined(_ name: String) throws {
        guard Self.isPlainName(name) else { throw SpoolError(.foreignFile) }
        let path = quarantineFolder.appending(path: name).path
        guard FileManager.default.fileExists(atPath: path + ".eml") else { throw SpoolError(.open, errno: ENOENT) }
        try POSIXFile.remove(path + ".eml")
        try? POSIXFile.remove(path + ".env")
        try? POSIXFile.remove(path + ".reason")
        try POSIXFile.syncDirectory(quarantineFolder.path)
    }

    /// A name an administrator may pass: no path separators, no dot-files.
    private static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 255 && !name.contains("/") && !name.hasPrefix(".") && !name.contains("\0")
    }

    /// Deletes a processed message (message first: once it is gone the message is no longer pending).
    public func remove(_ message: InboundMessage) throws { try remove(queueID: message.queueID) }

    /// Deletes the entry `queueID` of `incoming` (message first).
    public func remove(queueID: QueueID) throws {
        let id = queueID.rawValue
        try POSIXFile.remove(incomingFolder.appending(path: "\(id).eml").path)
        try POSIXFile.remove(incomingFolder.appending(path: "\(id).env").path)
        try POSIXFile.syncDirectory(incomingFolder.path)
    }
}
