import Foundation
public import Logging
import MailValues
public import ServiceLifecycle
import ThreadStore
import UnixSignals

/// Reloads the configuration file on SIGHUP (`systemctl reload mailbridge`) without dropping connections.
///
/// What can change while running: the mailboxes' texts, links, languages and team addresses, the MIME limits and
/// the redirect period. What needs a restart (the listener, the data folder, keys, IMAP, the smarthost, new or
/// removed counselling addresses) is named in the log and keeps its old value. An invalid file is reported and
/// changes nothing.
public struct ConfigurationReload: Service {
    let gateway: Gateway
    let file: String
    let logger: Logger

    public init(gateway: Gateway, file: String, logger: Logger) {
        self.gateway = gateway
        self.file = file
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                let notifier = SystemdNotifier()
                try? notifier.notify(.reloading)
                do {
                    let report = try await gateway.reload(from: file)
                    logger.notice("configuration reloaded",
                                  metadata: ["needs-restart": "\(report.needsRestart.joined(separator: ","))"])
                } catch {
                    logger.error("configuration not reloaded; the running one stays", metadata: ["error": "\(error)"])
                }
                try? notifier.notify(.ready)
            }
        }
    }
}

/// A file that a reload does not apply at all (the running configuration stays).
public struct ReloadRefused: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// What a reload applied, and which changed sections only take effect after a restart.
public struct ReloadReport: Sendable, Equatable {
    public var needsRestart: [String]
}

extension Gateway {
    /// Loads and validates `file`, applies what can change while running, and reports the rest.
    public func reload(from file: String) async throws -> ReloadReport {
        let new = try BridgeConfiguration.load(file: file)
        let old = configuration
        var needsRestart: [String] = []
        if new.data != old.data { needsRestart.append("data") }
        if new.keys != old.keys { needsRestart.append("keys") }
        if new.smtp != old.smtp { needsRestart.append("smtp") }
        if new.imapSources != old.imapSources { needsRestart.append("imap") }
        if new.smarthost != old.smarthost { needsRestart.append("smarthost") }
        if new.metrics != old.metrics { needsRestart.append("metrics") }
        if new.web != old.web { needsRestart.append("web") }
        // The help link only changes the mailboxes' redirect text, which applies now; the page itself is built once.
        var (newHelp, oldHelp) = (new.help, old.help)
        (newHelp.link, oldHelp.link) = (nil, nil)
        if newHelp != oldHelp { needsRestart.append("help") }
        if new.retention != old.retention { needsRestart.append("retention") }
        // Which fields each organisation owns decides what every account reaches (issue 29). The web keeps the
        // directory it started with, so a reload that changes it (an organisation, a mailbox's organisation or
        // field) would send new mail into a field that the old owner still reaches: such a file is not applied at
        // all, and the running configuration stays until a restart.
        func owners(_ configuration: BridgeConfiguration) -> [String: [String]] {
            Dictionary(configuration.mailboxes.map {
                ($0.address.canonical, [$0.fieldKey, $0.organisation?.rawValue ?? ""])
            }, uniquingKeysWith: { first, _ in first })
        }
        if new.organisationDirectory != old.organisationDirectory
            || (!old.organisations.isEmpty && owners(new) != owners(old))
        {
            throw ReloadRefused("the organisations, or a mailbox's field or organisation, changed: restart the "
                + "gateway to apply this file")
        }
        let oldAddresses = Set(old.mailboxes.map(\.address.canonical))
        if Set(new.mailboxes.map(\.address.canonical)) != oldAddresses { needsRestart.append("mailbox addresses") }

        // Mailboxes whose address is already served (and so has its gateway key) take the new settings. The
        // pipeline's update replaces the one mailbox directory that the reply composer and the outbox read too.
        let running = runner.pipeline.configuration
        var mailboxes: [PipelineMailbox] = []
        for current in running.mailboxes {
            guard let configured = new.mailboxes.first(where: { $0.address.canonical == current.address.canonical })
            else { mailboxes.append(current); continue }
            var updated = try PipelineMailbox(configured, gatewayKey: current.gatewayKey)
            updated.takeKeys(from: current)
            mailboxes.append(updated)
        }
        runner.pipeline.update(Pipeline.Configuration(
            mailboxes: mailboxes, mimeLimits: new.mimeLimits.parserLimits,
            redirectPeriod: TimeInterval(new.autoreply.rateLimitPeriodSeconds),
            maximumSignatureAge: TimeInterval(new.signatures.maxAgeDays) * 86_400,
            keyRequestPeriod: TimeInterval(new.autoreply.keyRequestPeriodSeconds),
            receiptPeriod: new.receipt.period,
            notices: NoticeSettings(new)))
        return ReloadReport(needsRestart: needsRestart)
    }
}
