import ThreadStore

extension BridgeConfiguration {
    /// This configuration as a TOML document that ``parse(_:file:)`` reads back to an equal value, with every
    /// option spelled out. Lets a value built in code (``embeddedDefault(dataFolder:)``) go through the same
    /// validation as a file, and shows an admin the effective configuration.
    public var tomlText: String {
        var lines: [String] = []
        func section(_ name: String) { lines.append(lines.isEmpty ? name : "\n\(name)") }
        func set(_ key: String, _ value: String) { lines.append("\(key) = \(Self.quoted(value))") }
        func set(_ key: String, _ value: Int) { lines.append("\(key) = \(value)") }
        func set(_ key: String, _ value: Bool) { lines.append("\(key) = \(value)") }
        func set(_ key: String, _ path: AbsolutePath?) { if let path { set(key, path.string) } }

        section("[data]")
        set("folder", data.folder)
        section("[keys]")
        set("gnupg-home", keys.gnupgHome)
        set("master-key-file", keys.masterKeyFile)
        set("master-key-credential", keys.masterKeyCredential)
        set("passphrase-file", keys.passphraseFile)
        set("gateway-key-lifetime-days", keys.gatewayKeyLifetimeDays)
        set("gateway-key-renew-days", keys.gatewayKeyRenewDays)
        set("gateway-key-overlap-days", keys.gatewayKeyOverlapDays)
        section("[smtp]")
        set("listen", smtp.listen)
        set("port", smtp.port)
        set("tls-certificate", smtp.tlsCertificate)
        set("tls-key", smtp.tlsKey)
        set("max-command-line-length", smtp.maxCommandLineLength)
        set("max-text-line-length", smtp.maxTextLineLength)
        set("max-message-size", smtp.maxMessageSize)
        set("max-recipients", smtp.maxRecipients)
        set("max-header-size", smtp.maxHeaderSize)
        set("max-errors", smtp.maxErrors)
        set("max-commands", smtp.maxCommands)
        set("command-timeout-seconds", smtp.commandTimeoutSeconds)
        set("session-deadline-seconds", smtp.sessionDeadlineSeconds)
        set("min-data-rate", smtp.minDataRate)
        set("max-connections-per-ip", smtp.maxConnectionsPerIP)
        set("max-connections", smtp.maxConnections)
        set("max-junk-commands", smtp.maxJunkCommands)
        set("stress-threshold-percent", smtp.stressThresholdPercent)
        set("stress-command-timeout-seconds", smtp.stressCommandTimeoutSeconds)
        for mailbox in mailboxes {
            section("[[mailbox]]")
            set("address", mailbox.address.unredactedDescription)
            set("field", mailbox.field)
            set("team-notification-address", mailbox.teamNotificationAddress.unredactedDescription)
            set("redirect-link", mailbox.redirectLink.string)
            set("language", mailbox.language.rawValue)
            set("redirect-template", mailbox.redirectTemplate)
            set("notify-template", mailbox.notifyTemplate)
            set("reply-waiting-template", mailbox.replyWaitingTemplate)
            set("key-request-template", mailbox.keyRequestTemplate)
            set("team-notification-mode", mailbox.teamNotificationMode.name)
            set("receipt-template", mailbox.receiptTemplate)
            if let link = mailbox.helpLink { set("help-link", link.string) }
            set("assign-on-reply", mailbox.assignOnReply)
            if let organisation = mailbox.organisation { set("organisation", organisation.rawValue) }
        }
        for source in imapSources {
            section("[[imap]]")
            set("host", source.host)
            set("port", source.port)
            set("tls", source.tls.rawValue)
            set("username", source.username)
            set("password-file", source.passwordFile)
            set("folder", source.folder)
            switch source.afterImport {
            case .move(let folder):
                set("after-import", "move")
                set("move-to-folder", folder)
            case .delete:
                set("after-import", "delete")
            }
            set("deliver-to", source.deliverTo.unredactedDescription)
            if let caFile = source.caFile { set("ca-file", caFile) }
            set("failed-folder", source.failedFolder)
            set("max-fetch-attempts", source.maxFetchAttempts)
            if let maxMessageBytes = source.maxMessageBytes { set("max-message-bytes", maxMessageBytes) }
        }
        if let smarthost {
            section("[smarthost]")
            set("host", smarthost.host)
            set("port", smarthost.port)
            set("tls", smarthost.tls.rawValue)
            if let username = smarthost.username { set("username", username) }
            set("password-file", smarthost.passwordFile)
            set("delivery-timeout-seconds", smarthost.deliveryTimeoutSeconds)
            set("max-age-hours", smarthost.maxAgeHours)
        }
        section("[limits.mime]")
        set("max-depth", mimeLimits.maxDepth)
        set("max-parts", mimeLimits.maxParts)
        set("max-decompressed-size", mimeLimits.maxDecompressedSize)
        section("[retention]")
        set("default-days", retention.defaultDays)
        set("rejected-days", retention.rejectedDays)
        section("[retention.fields]")
        for (field, days) in retention.fieldDays.sorted(by: { $0.key < $1.key }) {
            lines.append("\(Self.quoted(field)) = \(days)")
        }
        section("[autoreply]")
        set("rate-limit-period-seconds", autoreply.rateLimitPeriodSeconds)
        set("key-request-period-seconds", autoreply.keyRequestPeriodSeconds)
        section("[signatures]")
        set("max-age-days", signatures.maxAgeDays)
        section("[metrics]")
        set("enabled", metrics.enabled)
        set("listen", metrics.listen)
        set("port", metrics.port)
        let thresholds = metrics.waitingThresholdsHours.map(String.init).joined(separator: ", ")
        lines.append("waiting-thresholds-hours = [\(thresholds)]")
        section("[notices]")
        if let url = notices.inboxURL { set("inbox-url", url) }
        section("[web]")
        set("enabled", web.enabled)
        set("listen", web.listen)
        set("port", web.port)
        if let certificate = web.tlsCertificate, let key = web.tlsKey {
            set("tls-certificate", certificate)
            set("tls-key", key)
        }
        if let url = web.publicURL { set("public-url", url) }
        if let header = web.clientAddressHeader { set("client-address-header", header) }
        set("secure-cookies", web.secureCookies)
        set("require-second-factor", web.requireSecondFactor)
        set("session-idle-minutes", web.sessionIdleMinutes)
        set("session-max-hours", web.sessionMaxHours)
        if let zone = web.timeZone { set("time-zone", zone) }
        if let name = web.organisationName { set("organisation-name", name) }
        section("[receipt]")
        set("enabled", receipt.enabled)
        set("period-hours", receipt.periodHours)
        section("[help]")
        set("enabled", help.enabled)
        if let port = help.port {
            set("listen", help.listen)
            set("port", port)
        }
        set("tls-certificate", help.tlsCertificate)
        set("tls-key", help.tlsKey)
        if let link = help.link { set("link", link.string) }
        lines += storeTOMLLines()
        lines += webhookTOMLLines()
        lines += organisationTOMLLines()
        return lines.joined(separator: "\n") + "\n"
    }

    /// A TOML basic string (TOML 1.0 §String): quotes, backslashes and control characters escaped.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
