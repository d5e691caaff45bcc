import Foundation
import Logging

/// One cycle's work on one open, selected connection (``IMAPFetcher/runCycle(_:idle:sourceIndex:)``): set aside
/// what is due, fetch a batch (fresh UIDs first, then retries), and wait in IDLE when nothing is left.
///
/// Security: logs name the source by index and messages by UID, with counts, reasons and error codes only.
struct FetchCycle {
    let fetcher: IMAPFetcher
    let source: IMAPFetcher.Source
    let sourceIndex: Int
    let client: IMAPClient
    var report = IMAPFetcher.CycleReport()

    private var config: BridgeConfiguration.IMAPSource { source.configuration }
    private var logger: Logger { fetcher.logger }

    /// Works through `uids` (the folder's listing, ascending). Returns whether the connection is still usable
    /// (false after a failed message: the server may have dropped it, so the next cycle reconnects).
    mutating func run(uids: [UInt32], ledger: inout FetchFailureLedger, idle: Bool) async throws -> Bool {
        let limits = fetcher.limits
        let maximumSize = config.maxMessageBytes ?? limits.maximumMessageSize
        let now = Date()
        var fresh: [UInt32] = [], retries: [UInt32] = [], due: [UInt32] = []
        var nextRetry: Date?
        for uid in uids {
            switch decision(uid, ledger: ledger, now: now) {
            case .fetch: if ledger.entries[uid] == nil { fresh.append(uid) } else { retries.append(uid) }
            case .retryLater(let time): nextRetry = min(nextRetry ?? time, time)
            case .setAside: due.append(uid)
            case .leave: break
            }
        }
        guard try await setAside(due, ledger: &ledger) else {
            report.more = true
            return false
        }
        let candidates = fresh + retries
        let batch = candidates.prefix(limits.messagesPerCycle)
        report.more = candidates.count > batch.count
        if case .move(let target) = config.afterImport, !batch.isEmpty {
            try await client.perform { try $0.createFolderIfMissing(target) }
        }
        for uid in batch {
            try Task.checkCancellation()
            guard try await fetchOne(uid, maximumSize: maximumSize, ledger: &ledger) else {
                report.more = true
                return false
            }
        }
        // Too large ones are set aside in the same cycle.
        let nowDue = report.tooLarge.filter { ledger.entries[$0]?.reason == .tooLarge }
        guard try await setAside(nowDue, ledger: &ledger) else {
            report.more = true
            return false
        }
        if !report.imported.isEmpty || !report.failed.isEmpty || !report.setAside.isEmpty {
            logger.info("imap cycle", metadata: [
                "source": "\(sourceIndex)", "imported": "\(report.imported.count)",
                "failed": "\(report.failed.map(String.init).joined(separator: ","))",
                "set-aside": "\(report.setAside.map(String.init).joined(separator: ","))",
            ])
        }
        // Nothing left for now: wait in IDLE for new mail, at most one poll interval (or until a retry is due).
        if idle, !report.more, !Task.isCancelled {
            var seconds = max(1, Int(limits.pollInterval.components.seconds))
            if let nextRetry { seconds = min(seconds, max(1, Int(nextRetry.timeIntervalSinceNow.rounded(.up)))) }
            let cancelled = CancellationFlag()
            let idleSeconds = seconds
            let result = try await withTaskCancellationHandler {
                try await client.perform { try $0.idle(seconds: idleSeconds, isCancelled: cancelled.get) }
            } onCancel: {
                cancelled.set()
            }
            report.idled = result != .unsupported
        }
        return true
    }

    private func decision(_ uid: UInt32, ledger: FetchFailureLedger, now: Date) -> FetchFailureLedger.Decision {
        ledger.decision(uid: uid, now: now, maximumAttempts: config.maxFetchAttempts,
                        retryDelay: fetcher.limits.retryDelay.timeInterval,
                        maximumDelay: fetcher.limits.maximumBackoff.timeInterval)
    }

    /// size → fetch → spool → mark for one UID. Returns false after a failed message (counted in the ledger; the
    /// connection is given up, since the server may have closed it after the failure, as Dovecot does). A spool
    /// failure (ours, not the message's) throws and ends the cycle.
    private mutating func fetchOne(_ uid: UInt32, maximumSize: Int, ledger: inout FetchFailureLedger)
        async throws -> Bool
    {
        let size: Int?
        do {
            size = try await client.perform { try $0.messageSize(uid: uid) }
        } catch let error as IMAPError {
            return failed(uid, error, ledger: &ledger)
        }
        guard let size else { return true }  // gone since the listing
        guard size <= maximumSize else {
            ledger.recordFailure(uid: uid, reason: .tooLarge, at: Date())
            report.tooLarge.append(uid)
            return true
        }
        let data: Data?
        do {
            data = try await client.perform { try $0.fetchMessage(uid: uid, maximumSize: maximumSize) }
        } catch let error as IMAPError {
            return failed(uid, error, ledger: &ledger)
        }
        guard let data else { return failed(uid, IMAPError(.fetch), ledger: &ledger) }
        _ = try await fetcher.spoolMessage(data, deliverTo: config.deliverTo)
        // Only now, with the message durable in the spool, may it leave the server.
        guard await fetcher.beforeServerMark(uid) else {
            report.spooledOnly.append(uid)
            return true
        }
        let target: String? = if case .move(let folder) = config.afterImport { folder } else { nil }
        do {
            try await client.perform { try $0.markImported(uid: uid, moveTo: target) }
        } catch let error as IMAPError where !error.isConnectionFailure {
            // The server refuses to move this one message: count it like a failed fetch (it is spooled; the
            // pipeline suppresses the copies), so it cannot hold the source either.
            report.spooledOnly.append(uid)
            return failed(uid, error, ledger: &ledger)
        }
        ledger.forget(uid: uid)
        report.imported.append(uid)
        return true
    }

    private mutating func failed(_ uid: UInt32, _ error: IMAPError, ledger: inout FetchFailureLedger) -> Bool {
        let attempts = ledger.recordFailure(uid: uid, reason: .fetchFailed, at: Date())
        report.failed.append(uid)
        logger.warning("imap message fetch failed", metadata: [
            "source": "\(sourceIndex)", "uid": "\(uid)", "attempts": "\(attempts)",
            "max-attempts": "\(config.maxFetchAttempts)", "error": "\(error)"])
        return false
    }

    /// Moves each of `uids` to the failed folder (created if missing): first the fetcher's `beforeSetAside` (the
    /// durable notice), then the MOVE, then `setAside` (log and metric). A message the server will not move either
    /// is parked (left alone) and reported the same way. Returns false if the connection should not be used any
    /// more.
    private mutating func setAside(_ uids: [UInt32], ledger: inout FetchFailureLedger) async throws -> Bool {
        guard !uids.isEmpty else { return true }
        let folder = config.failedFolder
        try await client.perform { try $0.createFolderIfMissing(folder) }
        for uid in uids {
            let entry = ledger.entries[uid]
            let reason = entry?.reason ?? .fetchFailed
            let event = IMAPFetcher.SetAsideEvent(sourceIndex: sourceIndex, deliverTo: config.deliverTo, uid: uid,
                                                  reason: reason.rawValue, attempts: entry?.attempts ?? 0,
                                                  moved: true, key: "\(source.stateKey) \(ledger.uidValidity) \(uid)")
            // The notice first, durably and once per key: after the MOVE the UID is gone from the folder (and
            // from the ledger), so a kill between the MOVE and a notice queued afterwards would lose it.
            // If the store cannot take it, the cycle fails (the source backs off) and the message stays put.
            do {
                try await fetcher.beforeSetAside(event)
            } catch {
                logger.error("imap set-aside notice not queued; message left in the folder for the next cycle",
                             metadata: ["source": "\(sourceIndex)", "uid": "\(uid)", "error": "\(error)"])
                throw error
            }
            if fetcher.crashPoint(.beforeFailedFolderMove(uid)) { throw IMAPFetcher.SimulatedCrash() }
            do {
                try await client.perform { try $0.markImported(uid: uid, moveTo: folder) }
                if fetcher.crashPoint(.afterFailedFolderMove(uid)) { throw IMAPFetcher.SimulatedCrash() }
            } catch let error as IMAPError where !error.isConnectionFailure {
                ledger.park(uid: uid)
                logger.error("imap message could not be fetched nor moved to the failed folder; left on the server",
                             metadata: ["source": "\(sourceIndex)", "uid": "\(uid)", "reason": "\(reason.rawValue)",
                                        "error": "\(error)"])
                var parked = event
                parked.moved = false
                await fetcher.setAside(parked)
                return false
            }
            ledger.forget(uid: uid)
            report.setAside.append(uid)
            logger.error("imap message moved to the failed folder", metadata: [
                "source": "\(sourceIndex)", "uid": "\(uid)", "reason": "\(reason.rawValue)",
                "attempts": "\(event.attempts)"])
            await fetcher.setAside(event)
        }
        return true
    }
}

extension IMAPError {
    /// The connection itself broke (or never came up): no statement about one message.
    var isConnectionFailure: Bool {
        switch code {
        case .stream, .malformedResponse, .connect, .notConnected: true
        default: false
        }
    }
}
