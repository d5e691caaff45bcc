public import Foundation

/// Why a spool entry was moved to `spool/quarantine/` instead of being processed. Stored in the entry's
/// `<name>.reason` file as the raw value; also the metric label.
public enum QuarantineCause: String, Sendable, CaseIterable, Codable {
    /// A message file without its envelope file (a crash before the envelope was written, a hand copy).
    case missingEnvelope = "missing-envelope"
    /// The envelope file is truncated or not valid JSON of the known shape.
    case corruptEnvelope = "corrupt-envelope"
    /// The envelope file names a format version this binary does not know.
    case unknownVersion = "unknown-version"
    /// The envelope or message file cannot be read (permissions, not a regular file, I/O error).
    case unreadable
    /// The file name is not a queue ID this spool writes.
    case foreignName = "foreign-name"
}

/// One quarantined spool entry: the name it had (a queue ID, or the foreign file name), the cause, when.
public struct QuarantinedEntry: Sendable, Hashable {
    /// The entry's base name: `<name>.eml` (and `<name>.env` if there was one) are in the quarantine folder.
    public var name: String
    public var cause: QuarantineCause
    public var quarantinedAt: Date
    /// Whether an envelope file was quarantined with the message.
    public var hasEnvelope: Bool
    /// Size of the message file in octets.
    public var size: Int
}

/// The result of listing `spool/incoming`: messages ready to process, and the entries just quarantined.
public struct SpoolScan: Sendable {
    public var messages: [InboundMessage]
    public var quarantined: [QuarantinedEntry]
}
