/// Every bound the MIME parser enforces. Exceeding one throws a ``MIMEError``; nothing is truncated silently.
///
/// ```swift
/// var limits = MIMELimits.default
/// limits.maximumNestingDepth = 8
/// let message = try MIMEParser(limits: limits).parse(bytes)
/// ```
public struct MIMELimits: Sendable, Hashable {
    /// Hard ceiling for ``maximumParts``. libetpan's parser recurses once per nesting level without a bound of
    /// its own; we measured a segfault between 800 and 2000 levels on a 256 KiB stack. The pre-scan caps
    /// `Content-Type` fields at this number, which bounds libetpan's depth to `2 * 256 + 1` levels.
    public static let hardCeilingParts = 256

    /// Largest raw message accepted, in octets.
    public var maximumMessageBytes: Int = 32 * 1024 * 1024
    /// Deepest nesting of multipart / message parts (the top-level entity is depth 0).
    public var maximumNestingDepth: Int = 16
    /// Most parts (leaves and containers together); clamped to ``hardCeilingParts``.
    public var maximumParts: Int = 128 {
        didSet { maximumParts = min(max(maximumParts, 1), Self.hardCeilingParts) }
    }
    /// Largest header block of one part, in octets.
    public var maximumHeaderBlockBytes: Int = 64 * 1024
    /// Most header fields in one part.
    public var maximumHeaderFields: Int = 256
    /// Total decoded (transfer-decoded) size of all leaf bodies, in octets.
    public var maximumDecodedBytes: Int = 64 * 1024 * 1024
    /// Most RFC 2231 continuation sections for one parameter.
    public var maximumParameterSections: Int = 64

    public init() {}

    public static let `default` = MIMELimits()
}
