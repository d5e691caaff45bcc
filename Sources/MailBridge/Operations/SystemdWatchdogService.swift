public import ServiceLifecycle

/// Sends `WATCHDOG=1` every half `$WATCHDOG_USEC` (the unit's `WatchdogSec=`) until graceful shutdown, so systemd
/// restarts MailBridge if its event loops hang. Without a watchdog it just waits for shutdown, so a
/// `ServiceGroup` does not see it end early.
///
/// ```swift
/// let group = ServiceGroup(services: [listener, SystemdWatchdogService()], gracefulShutdownSignals: [.sigterm],
///                          logger: logger)
/// ```
public struct SystemdWatchdogService: Service {
    let notifier: SystemdNotifier

    /// Uses `notifier`, by default one reading the process environment.
    public init(notifier: SystemdNotifier = SystemdNotifier()) {
        self.notifier = notifier
    }

    public func run() async throws {
        guard let interval = notifier.watchdogPingInterval, notifier.isEnabled else {
            try? await gracefulShutdown()
            return
        }
        let notifier = self.notifier
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // A failed ping is not fatal here: systemd notices the missing pings and acts on them.
                try? notifier.notify(.watchdog)
                try? await Task.sleep(for: interval)
            }
        }
    }
}
