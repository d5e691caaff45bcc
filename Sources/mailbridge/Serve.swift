public import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
public import Logging
import MailBridge

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway (SMTP listener, inbound pipeline, outbound queue) until SIGTERM.",
        discussion: """
            With --config FILE: run as configured. With --embedded --data-dir DIR: run on the embedded default \
            (SMTP on 127.0.0.1:2525, one mailbox beratung@localhost, store and keys under DIR, created on first \
            run). Logs go to standard error without personal data. Exit codes: 0 stopped cleanly, 1 failure, \
            2 usage error, 3 invalid configuration.
            """
    )

    @Option(name: .customLong("config"), help: "The TOML configuration file (absolute path).")
    var config: String?

    @Flag(help: "Use the embedded default configuration instead of a file.")
    var embedded = false

    @Option(name: .customLong("data-dir"), help: "With --embedded: the data folder (absolute path).")
    var dataDir: String?

    @Option(help: ArgumentHelp(
        "With --embedded: relay outbound mail to this loopback SMTP server without TLS (for local test sinks).",
        valueName: "host:port"))
    var smarthost: String?

    @Option(name: .customLong("smtp-port"), help: "With --embedded: the SMTP listener's port instead of 2525.")
    var smtpPort: Int?

    @Option(name: .customLong("web-port"), help: "With --embedded: the web inbox's port instead of 8080.")
    var webPort: Int?

    @Option(name: .customLong("metrics-port"),
            help: "With --embedded: the Prometheus metrics port instead of 9465 (still on 127.0.0.1).")
    var metricsPort: Int?

    @Flag(name: .customLong("print-config"),
          help: "Print the effective configuration as TOML and exit (e.g. the embedded default for admin commands).")
    var printConfig = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        switch (config, embedded) {
        case (nil, false): throw ValidationError("give --config FILE, or --embedded --data-dir DIR")
        case (.some, true): throw ValidationError("--config and --embedded exclude each other")
        case (nil, true):
            guard let dataDir, (try? AbsolutePath(dataDir)) != nil else {
                throw ValidationError("--embedded needs --data-dir with an absolute path")
            }
        case (.some, false):
            if smarthost != nil || smtpPort != nil || webPort != nil || metricsPort != nil {
                throw ValidationError(
                    "--smarthost, --smtp-port, --web-port and --metrics-port go with --embedded; set them in the "
                        + "file otherwise")
            }
        }
        if let smarthost, Self.smarthost(smarthost) == nil {
            throw ValidationError("--smarthost needs HOST:PORT with a loopback host (127.0.0.1, ::1, localhost)")
        }
        for (name, port) in [("--smtp-port", smtpPort), ("--web-port", webPort), ("--metrics-port", metricsPort)] {
            if let port, !(1...65535).contains(port) { throw ValidationError("\(name) must be 1-65535") }
        }
    }

    /// `HOST:PORT` (IPv6 in brackets) on loopback only, as a smarthost without TLS.
    static func smarthost(_ text: String) -> BridgeConfiguration.Smarthost? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard ["127.0.0.1", "::1", "localhost"].contains(host) else { return nil }
        return BridgeConfiguration.Smarthost(host: host, port: port, tls: .none)
    }

    func run() async throws {
        // Large message buffers go straight back to the kernel when freed (see ProcessMemory, scripts/bench-rss).
        ProcessMemory.configureForLargeMessages()
        // Fewer malloc arenas on a small machine (issue 23, ProcessMemory+Idle).
        ProcessMemory.limitArenas(cores: ProcessInfo.processInfo.activeProcessorCount)
        // No descriptor of 1024 or more, which select(2) in libetpan cannot watch (DescriptorLimit).
        DescriptorLimit.capForSelect()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "mailbridge")
        // SIGHUP reloads the configuration (ConfigurationReload); until that service runs, and with --embedded,
        // it is ignored rather than ending the daemon (its default action).
        signal(SIGHUP, SIG_IGN)
        let configuration: BridgeConfiguration
        if let config {
            do {
                configuration = try BridgeConfiguration.load(file: config)
            } catch {
                StandardError.write("mailbridge serve: \(FailureExplanation.message(for: error))\n")
                throw ExitCode(ExitStatus.invalidConfiguration.rawValue)
            }
        } else {
            var embedded = BridgeConfiguration.embeddedDefault(dataFolder: try AbsolutePath(dataDir!))
            if let smarthost { embedded.smarthost = Self.smarthost(smarthost) }
            if let smtpPort { embedded.smtp.port = smtpPort }
            if let webPort { embedded.web.port = webPort }
            if let metricsPort { embedded.metrics.port = metricsPort }
            configuration = embedded
        }
        if printConfig {
            print(configuration.tomlText)
            return
        }
        do {
            let gateway = try await Gateway.start(configuration, logger: logger)
            let address = gateway.listener.localAddress.map { "\($0)" } ?? "?"
            var metadata: Logger.Metadata = ["smtp": "\(address)"]
            if let web = gateway.web {
                // The web server binds as its service starts; log its address once it is known.
                Task { [logger] in
                    let address = await web.localAddress()
                    logger.notice("web inbox is running", metadata: ["web": "\(address)"])
                }
                metadata["web-port"] = "\(configuration.web.port)"
            }
            logger.notice("MailBridge is running", metadata: metadata)
            // Issue 23: once the services have started, the code only start-up ran goes back to the kernel.
            Task.detached { [logger] in
                try await Task.sleep(for: .seconds(1))
                let bytes = ProcessMemory.pageOutCode()
                logger.debug("start-up code paged out", metadata: ["bytes": "\(bytes)"])
            }
            try await gateway.run(reloadingFrom: config)
        } catch {
            logger.debug("serve failed", metadata: ["error": "\(error)"])
            StandardError.write("mailbridge serve: \(FailureExplanation.message(for: error))\n")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
