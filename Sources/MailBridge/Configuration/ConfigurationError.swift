/// A problem in the configuration file, found while loading it.
///
/// The description names the file, the option path (`mailbox[1].address`, arrays counted from 1), the line and
/// column where the TOML parser can give one, and what was expected. It never repeats the value that was found:
/// the file holds no secrets by design (passwords live in separate files), but a mistyped value could still be
/// personal data such as a client's address, and errors end up in logs.
///
/// Line numbers: TOMLKit 0.6.0 reports source positions only for syntax errors (line and column). For other
/// errors the loader finds the option's line itself (`ConfigurationSourceMap`, for plain `key = value` lines;
/// a missing option points at its table's header); where it cannot, the option path alone names the place.
///
/// ```swift
/// do { _ = try BridgeConfiguration.load(file: "/etc/mailbridge/mailbridge.toml") }
/// catch let error where error.code == .unknownOption { print(error) }
/// ```
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of mistake. Two errors are equal when their codes are equal.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case unreadableFile = "unreadable file"
            case syntax = "TOML syntax error"
            case unknownOption = "unknown option"
            case wrongType = "wrong type"
            case invalidValue = "invalid value"
            case outOfRange = "value out of range"
            case missingOption = "missing option"
            case duplicate = "duplicate value"
            case relativePath = "relative path"
            case conflictingOptions = "conflicting options"
            case insecureFile = "insecure file permissions"
            case storeUnusable = "store not usable"
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The file could not be read (missing, no permission, not UTF-8).
        public static let unreadableFile = Code(.unreadableFile)
        /// The file is not valid TOML 1.0.
        public static let syntax = Code(.syntax)
        /// A key that MailBridge does not know (often a typo).
        public static let unknownOption = Code(.unknownOption)
        /// A value of the wrong TOML type (a string where a number is expected, …).
        public static let wrongType = Code(.wrongType)
        /// A value of the right type that is not acceptable (bad address, unknown TLS mode, bad URL, …).
        public static let invalidValue = Code(.invalidValue)
        /// A number outside the range MailBridge accepts.
        public static let outOfRange = Code(.outOfRange)
        /// A required option is absent.
        public static let missingOption = Code(.missingOption)
        /// A value that must be unique appears twice (two mailboxes with one address, …).
        public static let duplicate = Code(.duplicate)
        /// A path that must be absolute is relative.
        public static let relativePath = Code(.relativePath)
        /// Options that do not fit together (a TLS key without a certificate, …).
        public static let conflictingOptions = Code(.conflictingOptions)
        /// A file holding a secret (master key, password, passphrase, TLS key) that others may read or replace.
        public static let insecureFile = Code(.insecureFile)
        /// The configured store cannot be used: the PostgreSQL server is unreachable, refuses the user, has no
        /// such database, fails TLS, or holds a newer schema (`check-config` only; issue 21).
        public static let storeUnusable = Code(.storeUnusable)

        public var description: String { kind.rawValue }
    }

    /// The class of mistake.
    public var code: Code
    /// The configuration file, as given to the loader (`nil` for text parsed without a file).
    public var file: String?
    /// The option path, like `smtp.port` or `mailbox[2].address` (arrays of tables counted from 1).
    public var option: String?
    /// Line (1-based) of the option, or of its table when the option is missing; `nil` if unknown.
    /// For syntax errors, line and column where the TOML parser stopped.
    public var line: Int?
    public var column: Int?
    /// What was expected, in words for an administrator. Never contains the value that was found.
    public var expected: String
    /// Further problems found in the same load (validation collects all of them, the first is `self`).
    public var followingErrors: [ConfigurationError] = []

    public init(
        _ code: Code, file: String? = nil, option: String? = nil, line: Int? = nil, column: Int? = nil,
        expected: String
    ) {
        self.code = code
        self.file = file
        self.option = option
        self.line = line
        self.column = column
        self.expected = expected
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// `file:line:column: option: code: expected`, omitting the parts that are unknown.
    public var description: String {
        var location = file ?? "<configuration>"
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        let subject = option.map { "\($0): " } ?? ""
        return "\(location): \(subject)\(code): \(expected)"
    }

    /// This error and all following ones, one per line.
    public var fullDescription: String {
        ([self] + followingErrors).map(\.description).joined(separator: "\n")
    }

    /// Every problem of the load: this one and the following ones.
    public var allErrors: [ConfigurationError] { [self] + followingErrors }
}
