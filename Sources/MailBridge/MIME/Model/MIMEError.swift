/// Why a message could not be parsed or decoded. The description names the failed check only, never content.
///
/// ```swift
/// #expect(throws: MIMEError.nestingTooDeep) { try MIMEParser().parse(bytes) }
/// ```
public struct MIMEError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The failed check. `Hashable` compares only this, so tests can match on the static constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case messageTooLarge, tooManyParts, nestingTooDeep, headerTooLarge, tooManyHeaderFields
            case decodedSizeExceeded, malformedMessage, malformedHeader, unsupportedCharset, notText
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The raw message exceeds ``MIMELimits/maximumMessageBytes``.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// More parts than ``MIMELimits/maximumParts`` (also the pre-scan bound, see ``NestingPrescan``).
        public static let tooManyParts = Code(.tooManyParts)
        /// Deeper than ``MIMELimits/maximumNestingDepth``.
        public static let nestingTooDeep = Code(.nestingTooDeep)
        /// A header block exceeds ``MIMELimits/maximumHeaderBlockBytes``.
        public static let headerTooLarge = Code(.headerTooLarge)
        /// A header block has more than ``MIMELimits/maximumHeaderFields`` fields.
        public static let tooManyHeaderFields = Code(.tooManyHeaderFields)
        /// Decoded bodies together exceed ``MIMELimits/maximumDecodedBytes``.
        public static let decodedSizeExceeded = Code(.decodedSizeExceeded)
        /// libetpan could not parse the message structure.
        public static let malformedMessage = Code(.malformedMessage)
        /// A header line is not `name: value` (RFC 5322 §2.2).
        public static let malformedHeader = Code(.malformedHeader)
        /// A text part declares a charset outside ``Charset``.
        public static let unsupportedCharset = Code(.unsupportedCharset)
        /// Text was requested from a part that is not `text/*`.
        public static let notText = Code(.notText)

        public var description: String {
            switch value {
            case .messageTooLarge: "message too large"
            case .tooManyParts: "too many MIME parts"
            case .nestingTooDeep: "MIME nesting too deep"
            case .headerTooLarge: "header block too large"
            case .tooManyHeaderFields: "too many header fields"
            case .decodedSizeExceeded: "decoded size limit exceeded"
            case .malformedMessage: "malformed MIME structure"
            case .malformedHeader: "malformed header line"
            case .unsupportedCharset: "unsupported charset"
            case .notText: "part is not text"
            }
        }
    }

    public let code: Code
    /// Where the error was raised (source location of MailBridge, not of the message).
    public let location: String

    public init(_ code: Code, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.location = "\(file):\(line)"
    }

    public static let messageTooLarge = MIMEError(.messageTooLarge)
    public static let tooManyParts = MIMEError(.tooManyParts)
    public static let nestingTooDeep = MIMEError(.nestingTooDeep)
    public static let headerTooLarge = MIMEError(.headerTooLarge)
    public static let tooManyHeaderFields = MIMEError(.tooManyHeaderFields)
    public static let decodedSizeExceeded = MIMEError(.decodedSizeExceeded)
    public static let malformedMessage = MIMEError(.malformedMessage)
    public static let malformedHeader = MIMEError(.malformedHeader)
    public static let unsupportedCharset = MIMEError(.unsupportedCharset)
    public static let notText = MIMEError(.notText)

    public static func == (lhs: MIMEError, rhs: MIMEError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String { "MIMEError(\(code))" }
}
