// Security: `mailbridge users notify` stores a counsellor's own notification address, which is personal data of
// staff: it is validated, stored sealed by ThreadStore, and never echoed, logged or put in an error message.

import Foundation
import ThreadStore

extension UsersAdmin {
    /// Sets where an account's notices go (`address`, nil with `clear`) and how often (`mode`: `each-message`,
    /// `hourly` or `daily`; default `each-message`).
    public static func setNotification(
        _ installation: OpenedInstallation, username: String, address: String?, mode: String?, clear: Bool
    ) async throws -> AdminResult {
        guard clear != (address != nil) else {
            throw AdminUsageError("give either --address or --clear")
        }
        let noticeMode = try mode.map { name throws -> NoticeMode in
            guard let mode = NoticeMode(name: name) else {
                throw AdminUsageError("--mode must be each-message, hourly or daily")
            }
            return mode
        } ?? .eachMessage
        var stored: ClientAddress?
        if let address {
            guard let parsed = try? EmailAddress(address),
                let value = try? ClientAddress(parsed)
            else { throw AdminUsageError("--address must be one mail address (local@domain)") }
            stored = value
        }
        let account = try await account(named: username, in: installation)
        let settings = NotificationSettings(address: stored, mode: noticeMode)
        try await installation.stores.inbox.setNotificationSettings(settings, of: account.id, actor: nil,
                                                                    via: .commandLine)
        let id = account.id.unredactedDescription
        return AdminResult(output: clear
            ? "account \(id): no own notices; notices of its threads go to the team address"
            : "account \(id): notices of threads assigned to it go to the given address (\(noticeMode.name))")
    }
}
