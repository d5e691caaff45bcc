/// An engine, I/O or usage failure in PGPShim.
///
/// Verdicts about a message (bad signature, missing integrity protection, wrong recipient) are *not* errors:
/// they are values (``DecryptionOutcome``, ``SignatureVerdict``). A `PGPError` means the operation could not be
/// carried out at all. Its description names the operation and GnuPG's error text, never message content.
///
/// `Hashable` compares ``code`` only, so tests can write `#expect(throws: PGPError.engineUnavailable) { … }`.
public struct PGPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The class of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Value: Hashable, Sendable {
            case engineUnavailable, homeDirectory, operationFailed, keyNotFound, keyUnusable, badPassphrase,
                invalidInput, secretKeyMaterialRefused, outputTooLarge, transient
        }
        fileprivate let value: Value

        /// GnuPG is missing or too old, or gpgme could not be initialised.
        public static let engineUnavailable = Code(value: .engineUnavailable)
        /// The keyring folder could not be created or has unsafe permissions.
        public static let homeDirectory = Code(value: .homeDirectory)
        /// gpgme reported an error that is not about the message itself.
        public static let operationFailed = Code(value: .operationFailed)
        /// No key with that fingerprint is in the keyring.
        public static let keyNotFound = Code(value: .keyNotFound)
        /// The key exists but cannot be used for this operation.
        public static let keyUnusable = Code(value: .keyUnusable)
        /// The configured passphrase does not unlock the gateway key.
        public static let badPassphrase = Code(value: .badPassphrase)
        /// The caller passed something PGPShim will not work with (empty data, malformed fingerprint …).
        public static let invalidInput = Code(value: .invalidInput)
        /// Key data to import contained secret key material; client keys must be public.
        public static let secretKeyMaterialRefused = Code(value: .secretKeyMaterialRefused)
        /// Output of a non-decrypt operation exceeded its cap.
        public static let outputTooLarge = Code(value: .outputTooLarge)
        /// The engine or the file system failed in a way that can pass (a keyring being rewritten, a lock, a
        /// killed agent, an I/O error), or gpg's answer contradicted the keyring: retry; never a verdict about the
        /// message (issue 28). See ``PGPError/isTransient``.
        public static let transient = Code(value: .transient)

        public var description: String { "\(value)" }
    }

    public let code: Code
    /// What was being done, and the engine's error text. Never contains message content or passphrases.
    public let detail: String
    /// The raw gpg-error value, if the failure came from gpgme.
    public let gpgError: UInt32?
    public let location: String
    /// For an unfinished run (``isUnfinishedRun``): the status keywords gpg wrote before it ended
    /// (``DecryptionStatusLog/trace``), by which ``PGPService`` tells a run that repeats from a killed one. Set to
    /// nil by ``PGPService`` when its runs did not all end after the same lines, or ended before the first.
    public internal(set) var unfinishedTrace: [String]?

    public init(_ code: Code, _ detail: String, gpgError: UInt32? = nil, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.detail = detail
        self.gpgError = gpgError
        self.location = "\(fileID):\(line)"
    }

    public static let engineUnavailable = PGPError(.engineUnavailable, "")
    public static let homeDirectory = PGPError(.homeDirectory, "")
    public static let operationFailed = PGPError(.operationFailed, "")
    public static let keyNotFound = PGPError(.keyNotFound, "")
    public static let keyUnusable = PGPError(.keyUnusable, "")
    public static let badPassphrase = PGPError(.badPassphrase, "")
    public static let invalidInput = PGPError(.invalidInput, "")
    public static let secretKeyMaterialRefused = PGPError(.secretKeyMaterialRefused, "")
    public static let outputTooLarge = PGPError(.outputTooLarge, "")
    public static let transient = PGPError(.transient, "")

    public static func == (lhs: PGPError, rhs: PGPError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        detail.isEmpty ? "PGPError.\(code)" : "PGPError.\(code): \(detail)"
    }
}
