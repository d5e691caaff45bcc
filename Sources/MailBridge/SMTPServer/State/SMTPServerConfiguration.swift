/// Every limit of the inbound SMTP server in one place (Hummingbird `HTTP1Channel.Configuration` style).
/// Defaults follow RFC 5321 §4.5.3 where it gives numbers.
public struct SMTPServerConfiguration: Sendable {
    /// The host name in the greeting and EHLO reply (RFC 5321 §4.3.1).
    public var hostname: String
    /// Command line limit including CRLF: 512 (RFC 5321 §4.5.3.1.4) plus room for MAIL parameters
    /// (SIZE, RFC 1870 §4; BODY, RFC 6152; SMTPUTF8, RFC 6531).
    public var maximumCommandLineLength: Int
    /// Text line limit including CRLF (RFC 5321 §4.5.3.1.6).
    public var maximumTextLineLength: Int
    /// Largest message in octets; announced as EHLO SIZE (RFC 1870 §4) and enforced while streaming.
    public var maximumMessageSize: Int
    /// Largest header section in octets.
    public var maximumHeaderSize: Int
    /// Recipients per message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8 requires at least 100 to be buffered, but
    /// §4.5.3.1.10 allows a server to answer 452; counselling mail has one or few recipients).
    public var maximumRecipients: Int
    /// Client errors per connection before the server answers 421 and closes.
    public var maximumErrors: Int
    /// Commands per connection before the server answers 421 and closes.
    public var maximumCommands: Int
    /// Idle time allowed while waiting for a command or the next data line (RFC 5321 §4.5.3.2.7: 5 minutes).
    public var commandTimeout: Duration
    /// Whole-session deadline, independent of activity.
    public var sessionDeadline: Duration
    /// Minimum average data rate in octets per second during DATA, checked after `dataRateGracePeriod` (slowloris).
    public var minimumDataRate: Int
    public var dataRateGracePeriod: Duration
    /// Concurrent connections allowed from one IP address.
    public var maximumConnectionsPerIP: Int
    /// Concurrent connections in total.
    public var maximumConnections: Int
    /// Non-mail commands (NOOP, RSET, HELP, VRFY) per connection before 421 (Postfix `smtpd_junk_command_limit`);
    /// they never count as progress.
    public var maximumJunkCommands: Int = 20
    /// Stress mode, as Postfix's: from this share of `maximumConnections` on, a client that makes no progress
    /// (no MAIL, RCPT, DATA, greeting or message data) for `stressCommandTimeout` is closed with 421, and only
    /// `stressJunkCommands` non-mail commands are allowed, so idle clients cannot lock the others out.
    public var stressThreshold: Double = 0.75
    public var stressCommandTimeout: Duration = .seconds(10)
    public var stressJunkCommands: Int = 1
    /// Refuse and close when a client sends anything after DATA before the 354 (Postfix
    /// `reject_unauth_pipelining`). Off only in the wire fuzz test, which pipelines on purpose to reach every state.
    public var rejectPipelinedData = true

    public init(
        hostname: String = "localhost",
        maximumCommandLineLength: Int = 512 + 128,
        maximumTextLineLength: Int = 1000,
        maximumMessageSize: Int = 25 * 1024 * 1024,
        maximumHeaderSize: Int = 256 * 1024,
        maximumRecipients: Int = 20,
        maximumErrors: Int = 10,
        maximumCommands: Int = 1000,
        commandTimeout: Duration = .seconds(300),
        sessionDeadline: Duration = .seconds(1800),
        minimumDataRate: Int = 1024,
        dataRateGracePeriod: Duration = .seconds(30),
        maximumConnectionsPerIP: Int = 10,
        maximumConnections: Int = 200
    ) {
        self.hostname = hostname
        self.maximumCommandLineLength = maximumCommandLineLength
        self.maximumTextLineLength = maximumTextLineLength
        self.maximumMessageSize = maximumMessageSize
        self.maximumHeaderSize = maximumHeaderSize
        self.maximumRecipients = maximumRecipients
        self.maximumErrors = maximumErrors
        self.maximumCommands = maximumCommands
        self.commandTimeout = commandTimeout
        self.sessionDeadline = sessionDeadline
        self.minimumDataRate = minimumDataRate
        self.dataRateGracePeriod = dataRateGracePeriod
        self.maximumConnectionsPerIP = maximumConnectionsPerIP
        self.maximumConnections = maximumConnections
    }

    /// The framing limit: the longer of the two line limits (the framer does not know the protocol phase).
    public var maximumFrameLength: Int { max(maximumCommandLineLength, maximumTextLineLength) }
}
