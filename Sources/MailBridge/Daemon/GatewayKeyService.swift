// Security: keeps the running daemon's mailboxes in step with the gateway keys the store records (issue 20):
// a key rotated or revoked from the command line stops signing here and takes over decryption, WKD, the help page
// and the Autocrypt headers within one refresh. Logs counts only.

public import Foundation
public import Logging
import MailValues
import NIOConcurrencyHelpers
public import PGPShim
public import ServiceLifecycle

/// The daemon's gateway key service: every `refreshInterval` it compares the mailboxes in force with the keys
/// the store records and applies any change; every `checkInterval` it runs ``GatewayKeyLifecycle/check()``
/// (retire overlaps, extend expiries, repair revocations) and sets the metrics.
public final class GatewayKeyService: Service, Sendable {
    let lifecycle: GatewayKeyLifecycle
    let directory: MailboxDirectory
    let help: HelpDirectory?
    let metrics: GatewayMetrics?
    let refreshInterval: Duration
    let checkInterval: Duration
    let logger: Logger
    private let lastCheck = LastCheck()

    public init(lifecycle: GatewayKeyLifecycle, directory: MailboxDirectory, help: HelpDirectory?,
                metrics: GatewayMetrics?, refreshInterval: Duration = .seconds(15),
                checkInterval: Duration = .seconds(3600), logger: Logger) {
        self.lifecycle = lifecycle
        self.directory = directory
        self.help = help
        self.metrics = metrics
        self.refreshInterval = refreshInterval
        self.checkInterval = checkInterval
        self.logger = logger
    }

    public func run() async throws {
        await runPeriodically(every: refreshInterval) { await self.runOnce() }
    }

    /// One pass: the check when it is due (or `forceCheck`), then the refresh.
    public func runOnce(forceCheck: Bool = false) async {
        let clock = ContinuousClock()
        // The expiries the mailboxes were built with, before a first check may extend them.
        if !lastCheck.hasExpiries, let expiries = try? await lifecycle.currentExpiries() { lastCheck.record(expiries) }
        if forceCheck || lastCheck.isDue(clock.now, interval: checkInterval) {
            let report = await lifecycle.check()
            metrics?.gatewayKeys(expiringSoon: report.expiringSoon, soonestExpiry: report.soonestExpiry)
        }
        await refresh()
    }

    /// Applies the store's key sets to the mailboxes in force (and their Autocrypt headers, the help page and
    /// WKD) when they differ, or when a key's expiry changed (its published copy carries the new date). Several
    /// nodes: the keys other nodes made or changed are imported first.
    public func refresh() async {
        await lifecycle.pullShared()
        do {
            let mailboxes = directory.all
            let sets = try await lifecycle.recordedKeySets(mailboxes.map(\.address))
            let expiries = try await lifecycle.currentExpiries()
            let keysChanged = mailboxes.contains { mailbox in
                sets[mailbox.address.canonical].map { $0 != mailbox.keySet } ?? false
            }
            guard keysChanged || lastCheck.expiriesChanged(expiries)
            else { return lastCheck.record(expiries) }
            var updated = mailboxes
            for index in updated.indices {
                guard let keys = sets[updated[index].address.canonical] else { continue }
                updated[index].apply(keys)
                let keyData = try await lifecycle.pgp.exportPublicKey(keys.current, armored: false, minimal: true)
                updated[index].autocrypt = AutocryptHeader(address: updated[index].address, keyData: keyData)
            }
            if let help { help.publish(try await HelpDirectory.entries(mailboxes: updated, pgp: lifecycle.pgp)) }
            directory.replace(updated)
            lastCheck.record(expiries)
            logger.notice("gateway keys in force updated", metadata: ["mailboxes": "\(updated.count)"])
        } catch {
            logger.error("gateway keys not refreshed", metadata: ["error": "\(type(of: error))"])
        }
    }
}

/// When the last check ran and which expiries were last applied.
private final class LastCheck: Sendable {
    private struct State {
        var checkedAt: ContinuousClock.Instant?
        var expiries: [KeyFingerprint: Date]?
    }
    private let state = NIOLockedValueBox(State())

    func isDue(_ now: ContinuousClock.Instant, interval: Duration) -> Bool {
        state.withLockedValue { state in
            guard let last = state.checkedAt, now - last < interval else {
                state.checkedAt = now
                return true
            }
            return false
        }
    }

    var hasExpiries: Bool { state.withLockedValue { $0.expiries != nil } }

    func expiriesChanged(_ expiries: [KeyFingerprint: Date]) -> Bool {
        state.withLockedValue { $0.expiries.map { $0 != expiries } ?? false }
    }

    func record(_ expiries: [KeyFingerprint: Date]) { state.withLockedValue { $0.expiries = expiries } }
}
