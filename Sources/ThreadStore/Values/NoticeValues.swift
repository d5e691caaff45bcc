// Security: values of routed notices. A notification address is a staff member's personal data: it is stored
// sealed, and every value that holds one redacts it in `description`. Digest counters hold counts per field only.

public import Foundation

/// How an address wants to hear about new messages. Stored as an integer code (`account.notify_mode`).
public enum NoticeMode: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// One notice per new message.
    case eachMessage = 0
    /// One digest per hour with the number of new messages per field.
    case hourly = 1
    /// One digest per day (UTC) with the number of new messages per field.
    case daily = 2

    /// The configuration and command-line spelling: `each-message`, `hourly`, `daily`.
    public var name: String {
        switch self {
        case .eachMessage: "each-message"
        case .hourly: "hourly"
        case .daily: "daily"
        }
    }

    /// The mode of a configuration or command-line spelling, or nil.
    public init?(name: String) {
        guard let mode = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = mode
    }

    /// The length of a digest window in milliseconds; nil for ``eachMessage``.
    public var windowMilliseconds: Int64? {
        switch self {
        case .eachMessage: nil
        case .hourly: 3_600_000
        case .daily: 86_400_000
        }
    }

    /// The digest window containing `date` (start inclusive, end exclusive, UTC-aligned); nil for ``eachMessage``.
    public func window(containing date: Date) -> Range<Date>? {
        guard let length = windowMilliseconds else { return nil }
        let time = date.storeMilliseconds
        let start = time - ((time % length) + length) % length
        return Date(storeMilliseconds: start)..<Date(storeMilliseconds: start + length)
    }

    public var description: String { name }
}

/// An account's notice settings: where its notices go (nil: nowhere) and how often.
public struct NotificationSettings: Hashable, Sendable, CustomStringConvertible {
    /// The address notices go to; personal data (redacted in descriptions, sealed at rest).
    public var address: ClientAddress?
    public var mode: NoticeMode

    public init(address: ClientAddress?, mode: NoticeMode = .eachMessage) {
        self.address = address
        self.mode = mode
    }

    public var description: String { "NotificationSettings(\(address == nil ? "none" : "<address>"), \(mode))" }
}

/// Who a notice or digest counter is for.
public enum NoticeRecipient: Hashable, Sendable, CustomStringConvertible {
    /// The team address of a counselling field (configuration).
    case team(CounsellingField)
    /// A counsellor account's own notification address (stored sealed in its row).
    case account(AccountID)

    public var description: String {
        switch self {
        case .team(let field): "team(\(field.rawValue))"
        case .account(let id): "account(\(id))"
        }
    }
}

/// One digest counter: how many new messages of `field` arrived for `recipient` in a window.
public struct PendingNoticeCount: Hashable, Sendable, CustomStringConvertible {
    public var recipient: NoticeRecipient
    public var field: CounsellingField
    /// ``NoticeMode/hourly`` or ``NoticeMode/daily``.
    public var mode: NoticeMode
    public var windowStart: Date
    public var windowEnd: Date
    public var count: Int

    public var description: String { "PendingNoticeCount(\(recipient), \(field.rawValue), \(mode), \(count))" }
}
