// Security: the configuration file is written by the administrator, not by clients; it is still parsed with
// limits and strict validation because a wrong value (a listener on 0.0.0.0, a plain-text smarthost over the
// internet) weakens the gateway's promise. The file holds no secrets: passwords and the master key live in
// separate files whose paths are configured here. Errors never repeat values (see `ConfigurationError`).

public import ThreadStore

/// Everything MailBridge reads from its one TOML configuration file, validated and typed.
///
/// ```swift
/// let configuration = try BridgeConfiguration.load(file: "/etc/mailbridge/mailbridge.toml")
/// print(configuration.smtp.port)   // 2525 unless configured
/// ```
///
/// `Config/mailbridge.example.toml` documents every option with its default.
public struct BridgeConfiguration: Sendable, Equatable {
    /// `[data]`
    public var data: DataSection
    /// `[keys]`
    public var keys: KeysSection
    /// `[smtp]`
    public var smtp: SMTPSection
    /// `[[mailbox]]`, at least one.
    public var mailboxes: [Mailbox]
    /// `[[imap]]`, optional.
    public var imapSources: [IMAPSource]
    /// `[smarthost]`; `nil` when outbound mail goes directly to the recipients' MX hosts.
    public var smarthost: Smarthost?
    /// `[limits.mime]`
    public var mimeLimits: MIMELimits
    /// `[retention]`
    public var retention: Retention
    /// `[autoreply]`
    public var autoreply: AutoReply
    /// `[signatures]`
    public var signatures = Signatures()
    /// `[receipt]`
    public var receipt = Receipt()
    /// `[help]`
    public var help = Help()
    /// `[metrics]`
    public var metrics: Metrics
    /// `[web]`: the web inbox and JSON API.
    public var web: Web
    /// `[notices]`: where counsellor notices link to.
    public var notices = Notices()
    /// `[store]`: SQLite (default) or PostgreSQL (issue 21).
    public var store = Store()
    /// `[webhook]`: signed event notifications to the organisation's platform (issue 29); nil: none.
    public var webhook: Webhook?
    /// `[[organisation]]` (issue 29): the counselling providers sharing this installation; empty for one implicit
    /// organisation (every installation before issue 29).
    public var organisations: [Organisation] = []

    public init(
        data: DataSection, keys: KeysSection, smtp: SMTPSection = SMTPSection(), mailboxes: [Mailbox],
        imapSources: [IMAPSource] = [], smarthost: Smarthost? = nil, mimeLimits: MIMELimits = MIMELimits(),
        retention: Retention = Retention(), autoreply: AutoReply = AutoReply(), metrics: Metrics = Metrics(),
        web: Web = Web()
    ) {
        self.data = data
        self.keys = keys
        self.smtp = smtp
        self.mailboxes = mailboxes
        self.imapSources = imapSources
        self.smarthost = smarthost
        self.mimeLimits = mimeLimits
        self.retention = retention
        self.autoreply = autoreply
        self.metrics = metrics
        self.web = web
    }

    /// A configuration for a quick start or a test: everything under `dataFolder`, every listener on loopback,
    /// one example mailbox `beratung@localhost` redirecting to `https://beratung.example/login`.
    public static func embeddedDefault(dataFolder: AbsolutePath) -> BridgeConfiguration {
        // Both values are constants that are known to be valid.
        let address = try! EmailAddress("beratung@localhost")
        let link = try! RedirectLink("https://beratung.example/login")
        return BridgeConfiguration(
            data: DataSection(folder: dataFolder),
            keys: KeysSection(dataFolder: dataFolder),
            mailboxes: [
                Mailbox(
                    address: address, field: "allgemein", teamNotificationAddress: address,
                    redirectLink: link, language: .de)
            ]
        )
    }
}

extension BridgeConfiguration {
    /// `[data]`: where MailBridge keeps its state.
    public struct DataSection: Sendable, Equatable {
        /// `folder`, default `/var/lib/mailbridge` (the systemd `StateDirectory=`).
        public var folder: AbsolutePath
        public static let defaultFolder = AbsolutePath(unchecked: "/var/lib/mailbridge")
        public init(folder: AbsolutePath = defaultFolder) { self.folder = folder }
    }

    /// `[keys]`: the GnuPG home and the master key that seals the thread store.
    public struct KeysSection: Sendable, Equatable {
        /// `gnupg-home`, default `<data folder>/gnupg`.
        public var gnupgHome: AbsolutePath
        /// `master-key-file`, default `<data folder>/master.key`. Used when the systemd credential is absent.
        public var masterKeyFile: AbsolutePath
        /// `master-key-credential`, default `mailbridge-master-key`: the name of a systemd credential
        /// (`LoadCredential=`) that, when present in `$CREDENTIALS_DIRECTORY`, takes precedence over the file.
        public var masterKeyCredential: String
        /// `passphrase-file`: the passphrase of the gateway's secret keys, if they have one.
        public var passphraseFile: AbsolutePath?
        /// `gateway-key-lifetime-days` (default 730): a new gateway key expires this long after it is made, and an
        /// extension moves the expiry to this long from then (issue 20).
        public var gatewayKeyLifetimeDays = 730
        /// `gateway-key-renew-days` (default 60): the expiry is extended once it is this close.
        public var gatewayKeyRenewDays = 60
        /// `gateway-key-overlap-days` (default 90): after `keys rotate` the old key still decrypts this long.
        public var gatewayKeyOverlapDays = 90

        public static let defaultCredentialName = "mailbridge-master-key"

        public init(
            dataFolder: AbsolutePath, gnupgHome: AbsolutePath? = nil, masterKeyFile: AbsolutePath? = nil,
            masterKeyCredential: String = defaultCredentialName, passphraseFile: AbsolutePath? = nil
        ) {
            self.gnupgHome = gnupgHome ?? dataFolder.appending("gnupg")
            self.masterKeyFile = masterKeyFile ?? dataFolder.appending("master.key")
            self.masterKeyCredential = masterKeyCredential
            self.passphraseFile = passphraseFile
        }

        /// Where to read the master key: the systemd credential if `$CREDENTIALS_DIRECTORY/<name>` exists,
        /// otherwise `master-key-file`. `fileExists` is injected so the choice can be tested.
        public func masterKeyPath(
            environment: [String: String], fileExists: (String) -> Bool
        ) -> String {
            if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
                let candidate = directory.hasSuffix("/")
                    ? directory + masterKeyCredential : directory + "/" + masterKeyCredential
                if fileExists(candidate) { return candidate }
            }
            return masterKeyFile.string
        }
    }

    /// `[smtp]`: the inbound listener and all its limits (RFC 5321 §4.5.3 gives the protocol minimums).
    public struct SMTPSection: Sendable, Equatable {
        /// `listen`, default `127.0.0.1`: an IPv4 or IPv6 address literal.
        public var listen: String = "127.0.0.1"
        /// `port`, default 2525.
        public var port: Int = 2525
        /// `tls-certificate` and `tls-key`: PEM files enabling STARTTLS (RFC 3207). Both or neither.
        public var tlsCertificate: AbsolutePath?
        public var tlsKey: AbsolutePath?
        /// `max-command-line-length`, default 512 octets including CRLF (RFC 5321 §4.5.3.1.4), more for
        /// extensions' parameters (RFC 5321 §4.5.3.1.4 last sentence).
        public var maxCommandLineLength: Int = 512
        /// `max-text-line-length`, default 1000 octets including CRLF (RFC 5321 §4.5.3.1.6).
        public var maxTextLineLength: Int = 1000
        /// `max-message-size`, default 25 MiB, announced with SIZE (RFC 1870).
        public var maxMessageSize: Int = 25 * 1024 * 1024
        /// `max-recipients`, default 20 per transaction (RFC 5321 §4.5.3.1.8 allows replying 452 beyond).
        public var maxRecipients: Int = 20
        /// `max-header-size`, default 64 KiB for the header section of one message.
        public var maxHeaderSize: Int = 64 * 1024
        /// `max-errors`, default 10 failed commands before the session is closed.
        public var maxErrors: Int = 10
        /// `max-commands`, default 100 commands per session.
        public var maxCommands: Int = 100
        /// `command-timeout-seconds`, default 300 (RFC 5321 §4.5.3.2.7: at least 5 minutes).
        public var commandTimeoutSeconds: Int = 300
        /// `session-deadline-seconds`, default 1800: a session is closed after this, whatever it does.
        public var sessionDeadlineSeconds: Int = 1800
        /// `min-data-rate`, default 1024: the slowest average transfer accepted during DATA, in octets per
        /// second; 0 disables the check.
        public var minDataRate: Int = 1024
        /// `max-connections-per-ip`, default 10.
        public var maxConnectionsPerIP: Int = 10
        /// `max-connections`, default 100 in total.
        public var maxConnections: Int = 100
        /// `max-junk-commands`, default 20: NOOP, RSET, HELP and VRFY per connection before 421.
        public var maxJunkCommands: Int = 20
        /// `stress-threshold-percent`, default 75: from this share of `max-connections` on, stress mode closes
        /// sessions that move no mail for `stress-command-timeout-seconds` and allows one non-mail command.
        public var stressThresholdPercent: Int = 75
        /// `stress-command-timeout-seconds`, default 10.
        public var stressCommandTimeoutSeconds: Int = 10

        public init() {}
    }

    /// One `[[mailbox]]`: a counselling address the gateway answers for.
    public struct Mailbox: Sendable, Equatable {
        /// `address` (required): the counselling address clients write to.
        public var address: EmailAddress
        /// `field` (required): the counselling field's name, like `Suchtberatung`. Appears in notifications.
        public var field: String
        /// `team-notification-address` (required): where "new encrypted message" notices go (no content).
        public var teamNotificationAddress: EmailAddress
        /// `redirect-link` (required): the platform's login page, an `https://` URL.
        public var redirectLink: RedirectLink
        /// `language`, `de` (default) or `en`: language of the built-in templates.
        public var language: Language
        /// `redirect-template`, `notify-template`, `reply-waiting-template`: custom template files replacing the
        /// built-in ones for `language`.
        public var redirectTemplate: AbsolutePath?
        public var notifyTemplate: AbsolutePath?
        public var replyWaitingTemplate: AbsolutePath?
        /// `key-request-template`: a custom file replacing the built-in "please send us your public key" notice
        /// (issue 17).
        public var keyRequestTemplate: AbsolutePath? = nil
        /// `team-notification-mode`, default `each-message`: one notice per new message to the team address, or
        /// an `hourly` or `daily` digest counting new messages per field.
        public var teamNotificationMode: NoticeMode = .eachMessage
        /// `receipt-template`: a custom text for the encrypted receipt (`[receipt]`), no placeholders.
        public var receiptTemplate: AbsolutePath?
        /// `help-link`: the page explaining how to write encrypted mail (`{{help-link}}` in the redirect text);
        /// the loader fills in `[help] link` when the mailbox names none. Nil: the redirect names no help page.
        public var helpLink: RedirectLink?
        /// `assign-on-reply`, default true: a counsellor who replies to an unassigned thread of this field takes
        /// it (issue 22), in the reply's transaction; false leaves assignment to the explicit action.
        public var assignOnReply: Bool = true
        /// `organisation`: the `id` of the `[[organisation]]` the mailbox (and its field) belongs to; required when
        /// the file has organisations, refused when it has none.
        public var organisation: OrganisationID? = nil

        public init(
            address: EmailAddress, field: String, teamNotificationAddress: EmailAddress, redirectLink: RedirectLink,
            language: Language = .de, redirectTemplate: AbsolutePath? = nil, notifyTemplate: AbsolutePath? = nil,
            replyWaitingTemplate: AbsolutePath? = nil
        ) {
            self.address = address
            self.field = field
            self.teamNotificationAddress = teamNotificationAddress
            self.redirectLink = redirectLink
            self.language = language
            self.redirectTemplate = redirectTemplate
            self.notifyTemplate = notifyTemplate
            self.replyWaitingTemplate = replyWaitingTemplate
        }
    }

    /// Language of a mailbox's fixed texts.
    public enum Language: String, Sendable, Equatable, CaseIterable {
        case de, en
    }

    /// One `[[imap]]` source: a mailbox MailBridge fetches from instead of (or besides) receiving by SMTP.
    public struct IMAPSource: Sendable, Equatable {
        /// How the IMAP connection is secured. There is no plain-text mode.
        public enum TLSMode: String, Sendable, Equatable, CaseIterable {
            /// TLS from the first byte (RFC 8314 §3, port 993).
            case implicit
            /// STARTTLS (RFC 3501 §6.2.1); MailBridge refuses to log in if it fails.
            case starttls
        }

        /// What happens to a message on the IMAP server once it is stored.
        public enum AfterImport: Sendable, Equatable {
            case move(folder: String)
            case delete
        }

        /// `host` (required).
        public var host: String
        /// `port`, default 993.
        public var port: Int
        /// `tls`, default `implicit`.
        public var tls: TLSMode
        /// `username` (required).
        public var username: String
        /// `password-file` (required): a file holding the password on its first line.
        public var passwordFile: AbsolutePath
        /// `folder`, default `INBOX`.
        public var folder: String
        /// `after-import` (`move` default, or `delete`) and `move-to-folder` (default `MailBridge/Imported`).
        public var afterImport: AfterImport
        /// `deliver-to` (required): the `[[mailbox]]` address the fetched messages belong to.
        public var deliverTo: EmailAddress
        /// `ca-file`: PEM file with the CA certificates that may sign this server's certificate, instead of the
        /// system's trust store (for a server with a private CA). The host name is checked either way.
        public var caFile: AbsolutePath?
        /// `failed-folder`, default `MailBridge/Failed`: where a message that cannot be fetched (after
        /// `max-fetch-attempts`) or is over `max-message-bytes` is moved on the server (created if missing).
        public var failedFolder: String = "MailBridge/Failed"
        /// `max-fetch-attempts`, default 3: failed fetches of one message before it is moved to `failed-folder`.
        public var maxFetchAttempts: Int = 3
        /// `max-message-bytes`: the largest message (RFC822.SIZE) fetched; nil means `[smtp] max-message-size`.
        public var maxMessageBytes: Int?

        public init(
            host: String, port: Int = 993, tls: TLSMode = .implicit, username: String, passwordFile: AbsolutePath,
            folder: String = "INBOX", afterImport: AfterImport = .move(folder: "MailBridge/Imported"),
            deliverTo: EmailAddress, caFile: AbsolutePath? = nil
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.username = username
            self.passwordFile = passwordFile
            self.folder = folder
            self.afterImport = afterImport
            self.deliverTo = deliverTo
            self.caFile = caFile
        }
    }

    /// `[smarthost]`: the relay for all outbound mail.
    public struct Smarthost: Sendable, Equatable {
        /// How the smarthost connection is secured.
        public enum TLSMode: String, Sendable, Equatable, CaseIterable {
            /// TLS from the first byte (RFC 8314 §3, port 465).
            case implicit
            /// STARTTLS (RFC 3207, port 587); failure stops delivery.
            case starttls
            /// No TLS: allowed only when `host` is a loopback address (a local Postfix).
            case none
        }

        /// `host` (required).
        public var host: String
        /// `port`, default 587.
        public var port: Int
        /// `tls`, default `starttls`.
        public var tls: TLSMode
        /// `username` and `password-file`: SMTP AUTH (RFC 4954), both or neither.
        public var username: String?
        public var passwordFile: AbsolutePath?
        /// `delivery-timeout-seconds`: one delivery attempt, connect to the final reply, default 300.
        public var deliveryTimeoutSeconds: Int
        /// `max-age-hours`: after this a queued mail is given up (temporary failures until then), default 120.
        public var maxAgeHours: Int

        public init(
            host: String, port: Int = 587, tls: TLSMode = .starttls, username: String? = nil,
            passwordFile: AbsolutePath? = nil, deliveryTimeoutSeconds: Int = 300, maxAgeHours: Int = 120
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.username = username
            self.passwordFile = passwordFile
            self.deliveryTimeoutSeconds = deliveryTimeoutSeconds
            self.maxAgeHours = maxAgeHours
        }
    }

    /// `[limits.mime]`: bounds for the MIME parser on decrypted content.
    public struct MIMELimits: Sendable, Equatable {
        /// `max-depth`, default 10 nested multiparts.
        public var maxDepth: Int = 10
        /// `max-parts`, default 100 parts in one message.
        public var maxParts: Int = 100
        /// `max-decompressed-size`, default 50 MiB after transfer decoding and decompression.
        public var maxDecompressedSize: Int = 50 * 1024 * 1024
        public init() {}
    }

    /// `[retention]`: how long threads are kept after their last message.
    public struct Retention: Sendable, Equatable {
        /// `default-days`, default 180.
        public var defaultDays: Int = 180
        /// `[retention.fields]`: per counselling field (the mailboxes' `field`), days.
        public var fieldDays: [String: Int] = [:]
        /// `rejected-days`, default 14: how long a rejected encrypted message is kept sealed (issue 28).
        public var rejectedDays: Int = 14
        public init(defaultDays: Int = 180, fieldDays: [String: Int] = [:], rejectedDays: Int = 14) {
            self.defaultDays = defaultDays
            self.fieldDays = fieldDays
            self.rejectedDays = rejectedDays
        }

        /// Days to keep a thread of `field`.
        public func days(forField field: String) -> Int { fieldDays[field] ?? defaultDays }
    }

    /// `[autoreply]`: the fixed redirect reply to plain mail.
    public struct AutoReply: Sendable, Equatable {
        /// `rate-limit-period-seconds`, default 86400: at most one redirect reply per sender and mailbox within
        /// this period (RFC 3834 §2 asks auto-responders to limit repeats).
        public var rateLimitPeriodSeconds: Int = 86_400
        /// `key-request-period-seconds`, default 604800 (7 days): at most one "please send your public key" notice
        /// per client address within this period (encrypted mail without a key we know, issue 17).
        public var keyRequestPeriodSeconds: Int = 7 * 86_400
        public init() {}
    }

    /// `[signatures]`: when a good signature counts as valid.
    public struct Signatures: Sendable, Equatable {
        /// `max-age-days`, default 30: a signature made longer than this before the message arrived is shown as
        /// an old signature (possibly an old message sent again), never as valid.
        public var maxAgeDays: Int = 30
        public init() {}
    }

    /// `[receipt]`: the signed, encrypted acknowledgement to a client whose validly signed message was imported.
    public struct Receipt: Sendable, Equatable {
        /// `enabled`, default `true`.
        public var enabled: Bool = true
        /// `period-hours`, default 24: at most one receipt per thread within this period.
        public var periodHours: Int = 24
        public init() {}

        /// The pipeline's receipt period in seconds, nil when receipts are off.
        public var period: Double? { enabled ? Double(periodHours) * 3600 : nil }
    }

    /// `[help]`: the public page explaining how to write encrypted mail to the mailboxes.
    public struct Help: Sendable, Equatable {
        /// `enabled`, default `true`: the page is served (under `/help` of the inbox server, or on its own
        /// listener).
        public var enabled: Bool = true
        /// `listen` and `port`: when `port` is set, the page is served on its own listener (and not by the inbox
        /// server), so it can be exposed without the inbox. `listen` defaults to `127.0.0.1`.
        public var listen: String = "127.0.0.1"
        public var port: Int?
        /// `tls-certificate` and `tls-key`: PEM files for the own listener; both or neither. Needed for a
        /// non-loopback `listen`.
        public var tlsCertificate: AbsolutePath?
        public var tlsKey: AbsolutePath?
        /// `link`: the public address of the page, used for `{{help-link}}` by mailboxes without a `help-link`.
        public var link: RedirectLink?
        public init() {}
    }

    /// `[metrics]`: the Prometheus endpoint.
    public struct Metrics: Sendable, Equatable {
        /// `enabled`, default `true`.
        public var enabled: Bool = true
        /// `listen`, default `127.0.0.1`; must be a loopback address (metrics are for a local scraper or proxy).
        public var listen: String = "127.0.0.1"
        /// `port`, default 9465.
        public var port: Int = 9465
        /// `waiting-thresholds-hours`, default `[24, 48]`: for each, the gauge
        /// `mailbridge_threads_waiting{over_hours="N"}` counts threads (not closed) whose oldest unanswered
        /// message has waited longer than N hours. At most 10 values from 1 to 8760.
        public var waitingThresholdsHours: [Int] = [24, 48]
        public init() {}
    }

    /// `[notices]`: counsellor notices (issue 17).
    public struct Notices: Sendable, Equatable {
        /// `inbox-url`: the web inbox's public base URL (`https://`); notices link to `<url>/threads/<id>` (only
        /// the opaque thread ID), digests to `<url>/threads`. Default: `[web] public-url`; neither: no link.
        public var inboxURL: String?
        public init(inboxURL: String? = nil) { self.inboxURL = inboxURL }
    }

    /// `[web]`: the counsellors' web inbox and the JSON API (issue 8).
    public struct Web: Sendable, Equatable {
        /// `enabled`, default `true`.
        public var enabled: Bool = true
        /// `listen`, default `127.0.0.1`. Another address needs `tls-certificate` and `tls-key`; otherwise put a
        /// TLS reverse proxy in front and keep the default.
        public var listen: String = "127.0.0.1"
        /// `port`, default 8080.
        public var port: Int = 8080
        /// `tls-certificate` and `tls-key`: PEM files; both or neither. With them the server speaks HTTPS.
        public var tlsCertificate: AbsolutePath?
        public var tlsKey: AbsolutePath?
        /// `public-url`: the address counsellors open (e.g. `https://inbox.beratung.example`), behind a proxy.
        /// Requests whose `Origin` differs are refused for state changes.
        public var publicURL: String?
        /// `client-address-header`: the request header in which a reverse proxy on this machine passes the
        /// client's address (e.g. `X-Real-IP`), for the per-address login limit. Only with a loopback `listen`.
        public var clientAddressHeader: String?
        /// `secure-cookies`, default `true`: session cookies carry `Secure`. Only switch it off for plain HTTP on
        /// a loopback address during a trial.
        public var secureCookies: Bool = true
        /// `require-second-factor`, default `true`: every account must enrol and use TOTP (RFC 6238).
        public var requireSecondFactor: Bool = true
        /// `session-idle-minutes`, default 30: a session ends after this long without a request.
        public var sessionIdleMinutes: Int = 30
        /// `session-max-hours`, default 12: a session ends this long after login, whatever happens.
        public var sessionMaxHours: Int = 12
        /// `time-zone`: the IANA zone in which pages show times (e.g. `Europe/Berlin`). Nil: the server's zone.
        public var timeZone: String?
        /// `organisation-name`: the counselling service's name, shown on the login pages (issue 22). Nil: none.
        public var organisationName: String? = nil
        public init() {}
    }
}

