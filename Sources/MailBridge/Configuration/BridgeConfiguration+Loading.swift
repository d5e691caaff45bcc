import Foundation
import ThreadStore
import TOMLKit

extension BridgeConfiguration {
    /// The largest configuration file MailBridge reads (a bound on the parser's input).
    public static let maximumFileSize = 1024 * 1024

    /// Reads, parses and validates the TOML file at `file`.
    ///
    /// Throws the first problem found, with all others in ``ConfigurationError/followingErrors``.
    public static func load(file: String) throws(ConfigurationError) -> BridgeConfiguration {
        let text: String
        do {
            let url = URL(fileURLWithPath: file)
            let size = try url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0
            guard size <= maximumFileSize else {
                throw ConfigurationError(
                    .unreadableFile, file: file, expected: "a file of at most \(maximumFileSize) octets")
            }
            let data = try Data(contentsOf: url)
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(.unreadableFile, file: file, expected: "a UTF-8 text file (TOML 1.0)")
            }
            text = decoded
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(
                .unreadableFile, file: file, expected: "a readable file (it is missing or not permitted)")
        }
        return try parse(text, file: file)
    }

    /// Parses and validates TOML `text`; `file` only names the source in errors.
    public static func parse(_ text: String, file: String? = nil) throws(ConfigurationError) -> BridgeConfiguration {
        let reader = ConfigurationReader(file: file)
        let configuration = read(text, reader: reader)
        if !reader.errors.isEmpty {
            let map = ConfigurationSourceMap(text: text)
            // In file order (problems without a line last), each kind of check keeping its own order.
            let located = reader.errors.map { error in
                var error = error
                if error.line == nil, let option = error.option { error.line = map.line(of: option) }
                return error
            }.enumerated().sorted { a, b in
                (a.element.line ?? Int.max, a.offset) < (b.element.line ?? Int.max, b.offset)
            }.map(\.element)
            var error = located[0]
            error.followingErrors = Array(located.dropFirst())
            throw error
        }
        guard let configuration else {
            // `read` returns nil only after reporting a problem.
            throw ConfigurationError(.syntax, file: file, expected: "a valid configuration")
        }
        return configuration
    }

    /// Reads the document, reporting every problem to `reader`. `nil` if it could not be built at all.
    static func read(_ text: String, reader: ConfigurationReader) -> BridgeConfiguration? {
        guard text.utf8.count <= maximumFileSize else {
            reader.report(.unreadableFile, nil, expected: "at most \(maximumFileSize) octets of TOML")
            return nil
        }
        // toml++ (TOMLKit 0.6.0) aborts on a table header without a name instead of refusing it: refuse it here.
        if let position = TOMLHeaderCheck.firstNamelessHeader(in: text) {
            reader.append(
                ConfigurationError(
                    .syntax, file: reader.file, line: position.line, column: position.column,
                    expected: "valid TOML 1.0 (a table header needs a name: [section] or [[section]])"))
            return nil
        }
        let document: TOMLTable
        do {
            document = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            reader.append(
                ConfigurationError(
                    .syntax, file: reader.file, line: error.source.begin.line, column: error.source.begin.column,
                    expected: "valid TOML 1.0 (\(error.description))"))
            return nil
        } catch {
            reader.report(.syntax, nil, expected: "valid TOML 1.0")
            return nil
        }
        let root = ConfigurationReader.Section(table: document, path: "", pattern: "")

        // [data]
        let dataSection = reader.section(root, "data")
        let folder = reader.path(dataSection, "folder") ?? DataSection.defaultFolder
        reader.finish(dataSection)

        // [keys]
        let keysSection = reader.section(root, "keys")
        let gnupgHome = reader.path(keysSection, "gnupg-home")
        let masterKeyFile = reader.path(keysSection, "master-key-file")
        var credential = reader.text(
            keysSection, "master-key-credential", required: false, default: KeysSection.defaultCredentialName,
            maxLength: 255, what: "a systemd credential name") ?? KeysSection.defaultCredentialName
        if credential.contains("/") || credential == "." || credential == ".." {
            reader.report(.invalidValue, keysSection.optionPath("master-key-credential"),
                          expected: "a systemd credential name without '/' (as in LoadCredential=NAME:PATH)")
            credential = KeysSection.defaultCredentialName
        }
        let passphraseFile = reader.path(keysSection, "passphrase-file")
        var keys = KeysSection(
            dataFolder: folder, gnupgHome: gnupgHome, masterKeyFile: masterKeyFile, masterKeyCredential: credential,
            passphraseFile: passphraseFile)
        readGatewayKeyLifecycle(keysSection, into: &keys, reader: reader)
        reader.finish(keysSection)

        let smtp = readSMTP(reader.section(root, "smtp"), reader: reader)
        let (organisations, declared) = readOrganisations(root, reader: reader)
        var mailboxes = readMailboxes(root, reader: reader)
        let imapSources = readIMAP(root, mailboxes: mailboxes, reader: reader)
        let smarthostSection = reader.section(root, "smarthost")
        let smarthost = smarthostSection.table == nil ? nil : readSmarthost(smarthostSection, reader: reader)

        // [limits.mime]
        let limitsSection = reader.section(root, "limits")
        let mimeSection = reader.section(limitsSection, "mime")
        var mime = MIMELimits()
        mime.maxDepth = reader.integer(mimeSection, "max-depth", default: mime.maxDepth, range: 1...100)
        mime.maxParts = reader.integer(mimeSection, "max-parts", default: mime.maxParts, range: 1...10_000)
        mime.maxDecompressedSize = reader.integer(
            mimeSection, "max-decompressed-size", default: mime.maxDecompressedSize,
            range: 64 * 1024...1024 * 1024 * 1024, unit: "octets")
        reader.finish(mimeSection)
        reader.finish(limitsSection)

        let retention = readRetention(reader.section(root, "retention"), mailboxes: mailboxes, reader: reader)

        // [autoreply]
        let autoreplySection = reader.section(root, "autoreply")
        var autoreply = AutoReply()
        autoreply.rateLimitPeriodSeconds = reader.integer(
            autoreplySection, "rate-limit-period-seconds", default: autoreply.rateLimitPeriodSeconds,
            range: 60...30 * 86_400, unit: "seconds")
        autoreply.keyRequestPeriodSeconds = reader.integer(
            autoreplySection, "key-request-period-seconds", default: autoreply.keyRequestPeriodSeconds,
            range: 3600...30 * 86_400, unit: "seconds")
        reader.finish(autoreplySection)

        // [signatures]
        let signaturesSection = reader.section(root, "signatures")
        var signatures = Signatures()
        signatures.maxAgeDays = reader.integer(
            signaturesSection, "max-age-days", default: signatures.maxAgeDays, range: 1...3650, unit: "days")
        reader.finish(signaturesSection)

        // [metrics]
        let metricsSection = reader.section(root, "metrics")
        var metrics = Metrics()
        metrics.enabled = reader.boolean(metricsSection, "enabled", default: metrics.enabled)
        metrics.listen = reader.host(
            metricsSection, "listen", required: false, default: metrics.listen, addressLiteralOnly: true)
            ?? metrics.listen
        if !NetworkName.isLoopback(metrics.listen) {
            reader.report(.invalidValue, metricsSection.optionPath("listen"),
                          expected: "a loopback address (127.0.0.1 or ::1); put a proxy in front for remote scraping")
        }
        metrics.port = reader.integer(metricsSection, "port", default: metrics.port, range: 1...65535)
        metrics.waitingThresholdsHours = Array(Set(reader.integers(
            metricsSection, "waiting-thresholds-hours", default: metrics.waitingThresholdsHours, range: 1...8760,
            maximumCount: 10, unit: "hours"))).sorted()
        reader.finish(metricsSection)

        let notices = readNotices(reader.section(root, "notices"), reader: reader)
        let store = readStore(reader.section(root, "store"), reader: reader)
        let webhook = readWebhook(reader.section(root, "webhook"), reader: reader)
        checkOrganisations(organisations, declared: declared, mailboxes: mailboxes, webhook: webhook, keys: keys,
                           dataFolder: folder, reader: reader)

        let web = readWeb(reader.section(root, "web"), reader: reader)
        let receipt = readReceipt(reader.section(root, "receipt"), reader: reader)
        let help = readHelp(reader.section(root, "help"), web: web, reader: reader)
        // A mailbox without a help-link of its own names the global one in its redirect text.
        if let link = help.link {
            for index in mailboxes.indices where mailboxes[index].helpLink == nil { mailboxes[index].helpLink = link }
        }

        reader.finish(root)
        guard !mailboxes.isEmpty else { return nil }
        var configuration = BridgeConfiguration(
            data: DataSection(folder: folder), keys: keys, smtp: smtp, mailboxes: mailboxes,
            imapSources: imapSources, smarthost: smarthost, mimeLimits: mime, retention: retention,
            autoreply: autoreply, metrics: metrics, web: web)
        configuration.signatures = signatures
        configuration.notices = notices
        configuration.store = store
        configuration.webhook = webhook
        configuration.organisations = organisations
        configuration.receipt = receipt
        configuration.help = help
        return configuration
    }

    private static func readNotices(_ section: ConfigurationReader.Section, reader: ConfigurationReader) -> Notices {
        var notices = Notices()
        let expected = "an https:// URL of the web inbox, without query (notices link to <url>/threads/<id>)"
        if let url = reader.string(section, "inbox-url", expected: expected) {
            if let parsed = URL(string: url), parsed.scheme == "https", parsed.host != nil, parsed.query == nil,
               parsed.user == nil, let link = try? InboxLink(url) {
                notices.inboxURL = link.base
            } else {
                reader.report(.invalidValue, section.optionPath("inbox-url"), expected: expected)
            }
        }
        reader.finish(section)
        return notices
    }

    private static func readReceipt(_ section: ConfigurationReader.Section, reader: ConfigurationReader) -> Receipt {
        var receipt = Receipt()
        receipt.enabled = reader.boolean(section, "enabled", default: receipt.enabled)
        // At most 30 days: the store forgets rate-limit entries after 30 days (RetentionPolicy.rateLimitDays).
        receipt.periodHours = reader.integer(section, "period-hours", default: receipt.periodHours,
                                             range: 1...30 * 24, unit: "hours")
        reader.finish(section)
        return receipt
    }

    private static func readHelp(_ section: ConfigurationReader.Section, web: Web, reader: ConfigurationReader)
        -> Help
    {
        var help = Help()
        help.enabled = reader.boolean(section, "enabled", default: help.enabled)
        help.listen = reader.host(section, "listen", required: false, default: help.listen, addressLiteralOnly: true)
            ?? help.listen
        let port = reader.integer(section, "port", default: 8081, range: 1...65535)
        if section.contains("port") {
            help.port = port
        } else if section.contains("listen") {
            reader.report(.conflictingOptions, section.optionPath("listen"),
                          expected: "a port as well: the help page gets its own listener only with help.port")
        }
        help.tlsCertificate = reader.path(section, "tls-certificate")
        help.tlsKey = reader.path(section, "tls-key")
        if (help.tlsCertificate == nil) != (help.tlsKey == nil) {
            reader.report(.invalidValue, section.optionPath(help.tlsKey == nil ? "tls-key" : "tls-certificate"),
                          expected: "tls-certificate and tls-key together, or neither")
        }
        if help.tlsCertificate != nil, help.port == nil {
            reader.report(.conflictingOptions, section.optionPath("tls-certificate"),
                          expected: "only with help.port (the inbox server uses the [web] certificate)")
        }
        if help.port != nil, help.tlsCertificate == nil, !NetworkName.isLoopback(help.listen) {
            reader.report(.invalidValue, section.optionPath("listen"),
                          expected: "a loopback address, unless tls-certificate and tls-key are set (or put a TLS "
                              + "reverse proxy in front)")
        }
        if let port = help.port, web.enabled, port == web.port, help.listen == web.listen {
            reader.report(.conflictingOptions, section.optionPath("port"),
                          expected: "another port than the inbox server's ([web] port)")
        }
        help.link = readHelpLink(section, "link", reader: reader)
        reader.finish(section)
        return help
    }

    /// An optional `https://` link to the help page (`[help] link`, `[[mailbox]] help-link`).
    private static func readHelpLink(_ section: ConfigurationReader.Section, _ option: String,
                                     reader: ConfigurationReader) -> RedirectLink? {
        guard let raw = reader.string(section, option, expected: "an https:// URL") else { return nil }
        do { return try RedirectLink(raw) } catch {
            reader.report(.invalidValue, section.optionPath(option),
                          expected: "an https:// URL without user name, spaces or braces")
            return nil
        }
    }

    private static func readWeb(_ section: ConfigurationReader.Section, reader: ConfigurationReader) -> Web {
        var web = Web()
        web.enabled = reader.boolean(section, "enabled", default: web.enabled)
        web.listen = reader.host(section, "listen", required: false, default: web.listen, addressLiteralOnly: true)
            ?? web.listen
        web.port = reader.integer(section, "port", default: web.port, range: 1...65535)
        web.tlsCertificate = reader.path(section, "tls-certificate")
        web.tlsKey = reader.path(section, "tls-key")
        if (web.tlsCertificate == nil) != (web.tlsKey == nil) {
            reader.report(.invalidValue, section.optionPath(web.tlsKey == nil ? "tls-key" : "tls-certificate"),
                          expected: "tls-certificate and tls-key together, or neither")
        }
        if web.tlsCertificate == nil, !NetworkName.isLoopback(web.listen) {
            reader.report(.invalidValue, section.optionPath("listen"),
                          expected: "a loopback address, unless tls-certificate and tls-key are set (or put a TLS "
                              + "reverse proxy in front)")
        }
        if let url = reader.string(section, "public-url", expected: "an https:// URL without a path") {
            if let parsed = URL(string: url), parsed.scheme == "https", parsed.host != nil,
               parsed.path.isEmpty || parsed.path == "/", parsed.query == nil, parsed.user == nil {
                web.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            } else {
                reader.report(.invalidValue, section.optionPath("public-url"), expected: "an https:// URL without a path")
            }
        }
        if let header = reader.string(section, "client-address-header", expected: "an HTTP header name") {
            let token = header.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0)
                || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
            if !token || header.isEmpty || header.utf8.count > 64 {
                reader.report(.invalidValue, section.optionPath("client-address-header"),
                              expected: "an HTTP header name such as \"X-Real-IP\"")
            } else if !NetworkName.isLoopback(web.listen) {
                reader.report(.conflictingOptions, section.optionPath("client-address-header"),
                              expected: "only with a loopback listen address (a reverse proxy on this machine)")
            } else {
                web.clientAddressHeader = header
            }
        }
        web.secureCookies = reader.boolean(section, "secure-cookies", default: web.secureCookies)
        if !web.secureCookies,
           web.tlsCertificate != nil || web.publicURL != nil || !NetworkName.isLoopback(web.listen) {
            // A cookie without Secure set over HTTPS is also sent to plain http:// on the same host.
            reader.report(.conflictingOptions, section.optionPath("secure-cookies"),
                          expected: "true whenever the inbox is served over HTTPS or beyond loopback")
        }
        web.requireSecondFactor = reader.boolean(section, "require-second-factor", default: web.requireSecondFactor)
        web.sessionIdleMinutes = reader.integer(section, "session-idle-minutes", default: web.sessionIdleMinutes,
                                                range: 1...24 * 60, unit: "minutes")
        web.sessionMaxHours = reader.integer(section, "session-max-hours", default: web.sessionMaxHours,
                                             range: 1...7 * 24, unit: "hours")
        if let zone = reader.string(section, "time-zone", expected: "an IANA time zone such as \"Europe/Berlin\"") {
            if zone.utf8.count <= 64, TimeZone(identifier: zone) != nil {
                web.timeZone = zone
            } else {
                reader.report(.invalidValue, section.optionPath("time-zone"),
                              expected: "an IANA time zone such as \"Europe/Berlin\" (Debian package tzdata)")
            }
        }
        web.organisationName = reader.text(section, "organisation-name", required: false, maxLength: 120,
                                           what: "the counselling service's name")
        reader.finish(section)
        return web
    }

    private static func readSMTP(_ section: ConfigurationReader.Section, reader: ConfigurationReader) -> SMTPSection {
        var smtp = SMTPSection()
        smtp.listen = reader.host(section, "listen", required: false, default: smtp.listen, addressLiteralOnly: true)
            ?? smtp.listen
        smtp.port = reader.integer(section, "port", default: smtp.port, range: 1...65535)
        smtp.tlsCertificate = reader.path(section, "tls-certificate")
        smtp.tlsKey = reader.path(section, "tls-key")
        if section.contains("tls-certificate") != section.contains("tls-key") {
            reader.report(.conflictingOptions, section.optionPath("tls-key"),
                          expected: "tls-certificate and tls-key together, or neither")
        }
        smtp.maxCommandLineLength = reader.integer(
            section, "max-command-line-length", default: smtp.maxCommandLineLength, range: 512...4096, unit: "octets")
        smtp.maxTextLineLength = reader.integer(
            section, "max-text-line-length", default: smtp.maxTextLineLength, range: 1000...65_536, unit: "octets")
        smtp.maxMessageSize = reader.integer(
            section, "max-message-size", default: smtp.maxMessageSize, range: 64 * 1024...512 * 1024 * 1024,
            unit: "octets")
        smtp.maxRecipients = reader.integer(section, "max-recipients", default: smtp.maxRecipients, range: 1...1000)
        smtp.maxHeaderSize = reader.integer(
            section, "max-header-size", default: smtp.maxHeaderSize, range: 4096...1024 * 1024, unit: "octets")
        smtp.maxErrors = reader.integer(section, "max-errors", default: smtp.maxErrors, range: 1...1000)
        smtp.maxCommands = reader.integer(section, "max-commands", default: smtp.maxCommands, range: 10...100_000)
        smtp.commandTimeoutSeconds = reader.integer(
            section, "command-timeout-seconds", default: smtp.commandTimeoutSeconds, range: 10...3600, unit: "seconds")
        smtp.sessionDeadlineSeconds = reader.integer(
            section, "session-deadline-seconds", default: smtp.sessionDeadlineSeconds, range: 60...86_400,
            unit: "seconds")
        if smtp.sessionDeadlineSeconds < smtp.commandTimeoutSeconds {
            reader.report(.conflictingOptions, section.optionPath("session-deadline-seconds"),
                          expected: "a session deadline at least as long as command-timeout-seconds")
        }
        smtp.minDataRate = reader.integer(
            section, "min-data-rate", default: smtp.minDataRate, range: 0...100 * 1024 * 1024,
            unit: "octets per second (0 disables)")
        smtp.maxConnectionsPerIP = reader.integer(
            section, "max-connections-per-ip", default: smtp.maxConnectionsPerIP, range: 1...10_000)
        smtp.maxConnections = reader.integer(
            section, "max-connections", default: smtp.maxConnections,
            range: 1...DescriptorLimit.maximumSMTPConnections)
        if smtp.maxConnectionsPerIP > smtp.maxConnections {
            reader.report(.conflictingOptions, section.optionPath("max-connections-per-ip"),
                          expected: "at most max-connections")
        }
        smtp.maxJunkCommands = reader.integer(
            section, "max-junk-commands", default: smtp.maxJunkCommands, range: 1...10_000)
        smtp.stressThresholdPercent = reader.integer(
            section, "stress-threshold-percent", default: smtp.stressThresholdPercent, range: 1...100,
            unit: "percent of max-connections")
        smtp.stressCommandTimeoutSeconds = reader.integer(
            section, "stress-command-timeout-seconds", default: smtp.stressCommandTimeoutSeconds, range: 1...3600,
            unit: "seconds")
        reader.finish(section)
        return smtp
    }

    private static func readMailboxes(_ root: ConfigurationReader.Section, reader: ConfigurationReader) -> [Mailbox] {
        let sections = reader.arrayOfTables(root, "mailbox")
        if sections.isEmpty && !reader.errors.contains(where: { $0.option == "mailbox" }) {
            reader.report(.missingOption, "mailbox",
                          expected: "at least one [[mailbox]] table with address, field, "
                              + "team-notification-address and redirect-link")
        }
        var mailboxes: [Mailbox] = []
        var seen: [String: String] = [:]  // canonical address → option path of its first use
        for section in sections {
            let address = reader.address(section, "address")
            var field = reader.text(section, "field", required: true, maxLength: 64, what: "a counselling field name")
            if let name = field, (try? CounsellingField(name)) == nil {
                reader.report(.invalidValue, section.optionPath("field"),
                              expected: "a short field name of a-z, 0-9, '.', '_' or '-' (for example \"sucht\")")
                field = nil
            }
            let team = reader.address(section, "team-notification-address")
            var link: RedirectLink?
            if let raw = reader.requiredString(section, "redirect-link", expected: "an https:// URL") {
                do { link = try RedirectLink(raw) } catch {
                    reader.report(.invalidValue, section.optionPath("redirect-link"),
                                  expected: "an https:// URL without user name, spaces or braces")
                }
            }
            let language = reader.choice(section, "language", default: Language.de)
            let redirectTemplate = reader.path(section, "redirect-template")
            let notifyTemplate = reader.path(section, "notify-template")
            let replyWaitingTemplate = reader.path(section, "reply-waiting-template")
            let keyRequestTemplate = reader.path(section, "key-request-template")
            var teamMode = NoticeMode.eachMessage
            let modes = "\"each-message\", \"hourly\" or \"daily\""
            if let name = reader.string(section, "team-notification-mode", expected: modes) {
                if let mode = NoticeMode(name: name) { teamMode = mode } else {
                    reader.report(.invalidValue, section.optionPath("team-notification-mode"), expected: modes)
                }
            }
            let receiptTemplate = reader.path(section, "receipt-template")
            let helpLink = readHelpLink(section, "help-link", reader: reader)
            let assignOnReply = reader.boolean(section, "assign-on-reply", default: true)
            let organisation = readMailboxOrganisation(section, reader: reader)
            reader.finish(section)
            if let address {
                if let first = seen[address.canonical] {
                    reader.report(.duplicate, section.optionPath("address"),
                                  expected: "an address not already used by \(first)")
                } else {
                    seen[address.canonical] = section.path
                }
            }
            guard let address, let field, let team, let link else { continue }
            var mailbox = Mailbox(
                address: address, field: field, teamNotificationAddress: team, redirectLink: link,
                language: language, redirectTemplate: redirectTemplate, notifyTemplate: notifyTemplate,
                replyWaitingTemplate: replyWaitingTemplate)
            mailbox.keyRequestTemplate = keyRequestTemplate
            mailbox.teamNotificationMode = teamMode
            mailbox.receiptTemplate = receiptTemplate
            mailbox.helpLink = helpLink
            mailbox.assignOnReply = assignOnReply
            mailbox.organisation = organisation
            mailboxes.append(mailbox)
        }
        return mailboxes
    }

    private static func readIMAP(
        _ root: ConfigurationReader.Section, mailboxes: [Mailbox], reader: ConfigurationReader
    ) -> [IMAPSource] {
        var sources: [IMAPSource] = []
        for section in reader.arrayOfTables(root, "imap") {
            let host = reader.host(section, "host", required: true)
            let port = reader.integer(section, "port", default: 993, range: 1...65535)
            let tls = reader.choice(section, "tls", default: IMAPSource.TLSMode.implicit)
            let username = reader.text(section, "username", required: true, what: "an IMAP user name")
            let passwordFile = reader.path(section, "password-file", required: true)
            let folder = reader.text(section, "folder", required: false, default: "INBOX", what: "an IMAP folder name")
                ?? "INBOX"
            let afterImportRaw = reader.string(section, "after-import", expected: "\"move\" or \"delete\"") ?? "move"
            let moveTo = reader.text(
                section, "move-to-folder", required: false, default: "MailBridge/Imported", what: "an IMAP folder name")
                ?? "MailBridge/Imported"
            let afterImport: IMAPSource.AfterImport
            switch afterImportRaw {
            case "move": afterImport = .move(folder: moveTo)
            case "delete":
                afterImport = .delete
                if section.contains("move-to-folder") {
                    reader.report(.conflictingOptions, section.optionPath("move-to-folder"),
                                  expected: "no move-to-folder when after-import = \"delete\"")
                }
            default:
                reader.report(.invalidValue, section.optionPath("after-import"), expected: "\"move\" or \"delete\"")
                afterImport = .move(folder: moveTo)
            }
            let deliverTo = reader.address(section, "deliver-to")
            if let deliverTo, !mailboxes.contains(where: { $0.address.canonical == deliverTo.canonical }) {
                reader.report(.invalidValue, section.optionPath("deliver-to"),
                              expected: "the address of one of the [[mailbox]] tables")
            }
            let caFile = reader.path(section, "ca-file")
            let failedFolder = reader.text(
                section, "failed-folder", required: false, default: "MailBridge/Failed", what: "an IMAP folder name")
                ?? "MailBridge/Failed"
            if failedFolder == folder || afterImport == .move(folder: failedFolder) {
                reader.report(.conflictingOptions, section.optionPath("failed-folder"),
                              expected: "a folder other than folder and move-to-folder")
            }
            let maxFetchAttempts = reader.integer(section, "max-fetch-attempts", default: 3, range: 1...100)
            let maxMessageBytes = section.contains("max-message-bytes")
                ? reader.integer(section, "max-message-bytes", default: 25 << 20, range: 1024...(1 << 30),
                                 unit: "bytes") : nil
            reader.finish(section)
            guard let host, let username, let passwordFile, let deliverTo else { continue }
            var source = IMAPSource(
                host: host, port: port, tls: tls, username: username, passwordFile: passwordFile, folder: folder,
                afterImport: afterImport, deliverTo: deliverTo, caFile: caFile)
            source.failedFolder = failedFolder
            source.maxFetchAttempts = maxFetchAttempts
            source.maxMessageBytes = maxMessageBytes
            sources.append(source)
        }
        return sources
    }

    private static func readSmarthost(_ section: ConfigurationReader.Section, reader: ConfigurationReader)
        -> Smarthost?
    {
        let host = reader.host(section, "host", required: true)
        let port = reader.integer(section, "port", default: 587, range: 1...65535)
        let tls = reader.choice(section, "tls", default: Smarthost.TLSMode.starttls)
        let username = reader.text(section, "username", required: false, what: "an SMTP AUTH user name")
        let passwordFile = reader.path(section, "password-file")
        let timeout = reader.integer(section, "delivery-timeout-seconds", default: 300, range: 10...3600)
        let maxAge = reader.integer(section, "max-age-hours", default: 120, range: 1...720)
        if section.contains("username") != section.contains("password-file") {
            reader.report(.conflictingOptions, section.optionPath("password-file"),
                          expected: "username and password-file together, or neither")
        }
        if tls == .none, let host, !NetworkName.isLoopback(host) {
            reader.report(.invalidValue, section.optionPath("tls"),
                          expected: "\"implicit\" or \"starttls\"; \"none\" is only allowed for a loopback host")
        }
        reader.finish(section)
        guard let host else { return nil }
        return Smarthost(host: host, port: port, tls: tls, username: username, passwordFile: passwordFile,
                         deliveryTimeoutSeconds: timeout, maxAgeHours: maxAge)
    }

    private static func readRetention(
        _ section: ConfigurationReader.Section, mailboxes: [Mailbox], reader: ConfigurationReader
    ) -> Retention {
        let range = 1...3650
        let defaultDays = reader.integer(section, "default-days", default: 180, range: range, unit: "days")
        let rejectedDays = reader.integer(section, "rejected-days", default: 14, range: 1...365, unit: "days")
        var fieldDays: [String: Int] = [:]
        let (fieldsPath, entries) = reader.freeformTable(section, "fields")
        let fields = Set(mailboxes.map(\.field))
        for (name, value) in entries {
            let option = "\(fieldsPath).\(name)"
            guard let days = value.int else {
                reader.report(.wrongType, option,
                              expected: "a number of days from 1 to 3650, found \(reader.describe(value.type))")
                continue
            }
            guard range.contains(days) else {
                reader.report(.outOfRange, option, expected: "a number of days from 1 to 3650")
                continue
            }
            guard fields.contains(name) else {
                reader.report(.invalidValue, option, expected: "the field name of one of the [[mailbox]] tables")
                continue
            }
            fieldDays[name] = days
        }
        reader.finish(section)
        return Retention(defaultDays: defaultDays, fieldDays: fieldDays, rejectedDays: rejectedDays)
    }

    /// What the loader makes of `text`: the option patterns it knows (`smtp.port`, `mailbox[].address`), those
    /// present in `text`, and the problems. For tests comparing the loader with the example file.
    static func optionReport(readingFrom text: String)
        -> (known: Set<String>, present: Set<String>, errors: [ConfigurationError])
    {
        let reader = ConfigurationReader(file: nil)
        _ = read(text, reader: reader)
        return (reader.knownOptions, reader.presentOptions, reader.errors)
    }
}
