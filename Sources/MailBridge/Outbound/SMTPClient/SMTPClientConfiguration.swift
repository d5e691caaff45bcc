/// Where and how the client delivers: the smarthost (or a test sink), TLS, credentials, deadlines and limits.
/// All limits of the outbound connection live here (STYLE.md §3).
public struct SMTPClientConfiguration: Sendable, CustomStringConvertible {
    /// How the connection is protected.
    public enum TLSMode: String, Hashable, Sendable {
        /// TLS from the first byte, usually port 465 (RFC 8314 §3.3).
        case implicit
        /// Plain connect, then STARTTLS, which is required: without it nothing is sent (RFC 3207 §4, §6).
        case startTLS
        /// No TLS at all. Only accepted for a loopback target (a local test sink); see ``validate()``.
        case none
    }

    /// Trust anchors for the server certificate.
    public enum TrustRoots: Hashable, Sendable {
        /// The operating system's store.
        case system
        /// A PEM file of CA certificates (e.g. a private smarthost CA, or a test CA).
        case caFile(String)
    }

    /// The name verified against the server certificate (RFC 6125), sent as SNI.
    public var host: String
    public var port: Int
    /// Connect to this address instead of resolving `host` (tests: "127.0.0.1" with host "localhost").
    public var connectAddress: String?
    public var tlsMode: TLSMode
    public var trustRoots: TrustRoots
    public var credentials: SMTPCredentials?
    /// The name we give in EHLO/HELO (RFC 5321 §4.1.1.1).
    public var heloName: String
    /// Time allowed for connecting and for each reply (RFC 5321 §4.5.3.2 suggests minutes; a smarthost is fast).
    public var stepTimeout: Duration
    /// Time allowed for the whole delivery, connect to QUIT.
    public var deliveryTimeout: Duration
    public var replyLimits: SMTPReplyParser.Limits

    public init(
        host: String, port: Int, connectAddress: String? = nil, tlsMode: TLSMode, trustRoots: TrustRoots = .system,
        credentials: SMTPCredentials? = nil, heloName: String, stepTimeout: Duration = .seconds(60),
        deliveryTimeout: Duration = .seconds(300), replyLimits: SMTPReplyParser.Limits = .init()
    ) {
        self.host = host
        self.port = port
        self.connectAddress = connectAddress
        self.tlsMode = tlsMode
        self.trustRoots = trustRoots
        self.credentials = credentials
        self.heloName = heloName
        self.stepTimeout = stepTimeout
        self.deliveryTimeout = deliveryTimeout
        self.replyLimits = replyLimits
    }

    /// The address the socket connects to.
    public var address: String { connectAddress ?? host }

    /// True if the connect address is a loopback address literal (127.0.0.0/8 or ::1, RFC 1122 §3.2.1.3,
    /// RFC 4291 §2.5.3) or "localhost" (RFC 6761 §6.3). A name such as "127.example.org" is not loopback.
    public var targetIsLoopback: Bool {
        let address = self.address.lowercased()
        if address == "localhost" || address == "::1" || address == "[::1]" { return true }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { $0.count <= 3 && $0.allSatisfy(\.isASCII) && UInt8($0) != nil }
    }

    /// Refuses clear-text delivery to anything but loopback, and bad numbers.
    public func validate() throws(DeliveryFailure) {
        guard (1...65535).contains(port), !host.isEmpty, !heloName.isEmpty,
            heloName.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }),
            stepTimeout > .zero, deliveryTimeout > .zero,
            replyLimits.maximumLineLength >= 8, replyLimits.maximumLines >= 1
        else { throw DeliveryFailure(.configurationInvalid) }
        if tlsMode == .none && !targetIsLoopback { throw DeliveryFailure(.configurationInvalid) }
        // The verified name must be a host name: an IP literal cannot be checked by SNI/host name (RFC 6066 §3).
        if tlsMode != .none && (host.contains(":") || host.allSatisfy({ $0 == "." || $0.isNumber })) {
            throw DeliveryFailure(.configurationInvalid)
        }
    }

    /// AUTH without TLS is allowed only in the explicit loopback test set-up (RFC 4954 §4 leaves it to policy;
    /// we never send credentials in clear over a network).
    public var allowsAuthenticationWithoutTLS: Bool { tlsMode == .none && targetIsLoopback }

    public var description: String {
        "SMTPClientConfiguration(port: \(port), tls: \(tlsMode.rawValue), auth: \(credentials == nil ? "no" : "yes"))"
    }
}

/// A user name and password for AUTH PLAIN/LOGIN (RFC 4616, RFC 4954). Never printed.
public struct SMTPCredentials: Hashable, Sendable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "SMTPCredentials(<redacted>)" }
}
