import Foundation

/// What the fetcher remembers about the messages of one source that could not be fetched (issue 28 item 3): per
/// UID, under the folder's UIDVALIDITY (RFC 9051 §2.3.1.1), how often and why. A pure value; the fetcher decides
/// with it whether to fetch a UID now, later, or to set it aside in the failed folder, and
/// ``FetchFailureLedgerFile`` keeps it across restarts.
///
/// Holds UIDs, counts and times only: no content, address or folder name.
struct FetchFailureLedger: Codable, Equatable, Sendable {
    /// Why a message was not fetched.
    enum Reason: String, Codable, Sendable {
        /// The FETCH failed (the server answered NO, sent something unparsable or dropped the connection).
        case fetchFailed = "fetch-failed"
        /// RFC822.SIZE is over the source's limit.
        case tooLarge = "too-large"
    }

    struct Entry: Codable, Equatable, Sendable {
        var attempts: Int
        var lastFailure: Date
        var reason: Reason
        /// True once the move to the failed folder was tried and failed too: the message is left alone (until the
        /// folder's UIDVALIDITY changes), so it costs one log line, not one per cycle.
        var parked = false
    }

    /// What to do with a listed UID now.
    enum Decision: Equatable, Sendable {
        case fetch
        /// Failed before; try again at this time (other messages go first).
        case retryLater(Date)
        /// Failed `maximumAttempts` times (or too large): move it to the failed folder.
        case setAside(Reason)
        /// Setting it aside failed; leave it.
        case leave
    }

    private(set) var uidValidity: UInt32 = 0
    private(set) var entries: [UInt32: Entry] = [:]

    /// Forgets everything when the folder's UIDVALIDITY changed: the old UIDs name other messages now.
    mutating func selected(uidValidity: UInt32) {
        guard uidValidity != self.uidValidity else { return }
        self.uidValidity = uidValidity
        entries = [:]
    }

    /// Counts one failed attempt; returns the number of attempts so far.
    @discardableResult
    mutating func recordFailure(uid: UInt32, reason: Reason, at time: Date) -> Int {
        var entry = entries[uid] ?? Entry(attempts: 0, lastFailure: time, reason: reason)
        entry.attempts += 1
        entry.lastFailure = time
        entry.reason = reason
        entries[uid] = entry
        return entry.attempts
    }

    /// The move to the failed folder failed as well: stop trying.
    mutating func park(uid: UInt32) {
        entries[uid]?.parked = true
    }

    /// The message was fetched, or set aside, or is gone.
    mutating func forget(uid: UInt32) {
        entries[uid] = nil
    }

    /// Drops entries whose UID is no longer in the folder (moved away by a person, or by us before a crash), so
    /// the ledger stays as small as the set of failing messages.
    mutating func keepOnly(_ listed: Set<UInt32>) {
        entries = entries.filter { listed.contains($0.key) }
    }

    /// `maximumAttempts` failed fetches set a message aside; before that, a failed one is retried after
    /// `retryDelay` times 2^(attempts-1) (capped at `maximumDelay`), so the rest of the folder goes first.
    func decision(uid: UInt32, now: Date, maximumAttempts: Int, retryDelay: TimeInterval,
                  maximumDelay: TimeInterval) -> Decision {
        guard let entry = entries[uid] else { return .fetch }
        if entry.parked { return .leave }
        if entry.reason == .tooLarge || entry.attempts >= maximumAttempts { return .setAside(entry.reason) }
        let delay = min(maximumDelay, retryDelay * pow(2, Double(max(0, entry.attempts - 1))))
        let due = entry.lastFailure.addingTimeInterval(delay)
        return due <= now ? .fetch : .retryLater(due)
    }
}

/// Keeps one source's ``FetchFailureLedger`` in a JSON file in the data folder (`imap-state/<key>.json`, 0600),
/// written durably (new file, fsync, rename, folder fsync) only when the ledger changed, which is rare: the
/// normal path writes nothing. A file rather than a ThreadStore table because it is bookkeeping about the
/// server's UIDs, never mail, and losing it costs at most `max-fetch-attempts` more tries; an unreadable file is
/// treated as empty (logged by the caller) for the same reason.
struct FetchFailureLedgerFile: Sendable {
    let url: URL

    /// `key` names the source (a hash of host, port, user and folder, so the name holds no user name).
    init(folder: URL, key: String) {
        url = folder.appendingPathComponent("\(key).json")
    }

    /// The stored ledger; an empty one if there is no file. Throws if the file exists but cannot be read.
    func load() throws -> FetchFailureLedger {
        guard FileManager.default.fileExists(atPath: url.path) else { return FetchFailureLedger() }
        let bytes = try POSIXFile.readAll(url.path, limit: 4 << 20)
        return try JSONDecoder().decode(FetchFailureLedger.self, from: Data(bytes))
    }

    func save(_ ledger: FetchFailureLedger) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let temporary = url.path + ".tmp"
        try? POSIXFile.remove(temporary)
        try POSIXFile.writeDurably(try encoder.encode(ledger), temporary: temporary, final: url.path)
        try POSIXFile.syncDirectory(folder.path)
    }
}
