import Foundation
import ThreadStore

/// How long a thread's oldest unanswered message has waited, for the inbox list: `—` when answered, else minutes
/// under an hour, hours under two days, then whole days ("25 min", "3 h", "2 Tage" / "2 days").
///
/// ```swift
/// WaitingTime.text(since: thread.waitingSince, now: Date(), language: .german)   // "3 h"
/// ```
enum WaitingTime {
    static func text(since: Date?, now: Date, language: InterfaceLanguage) -> String {
        guard let since else { return "—" }
        let minutes = max(0, Int(now.timeIntervalSince(since) / 60))
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 48 { return "\(hours) h" }
        let days = hours / 24
        return language == .german ? "\(days) Tage" : "\(days) days"
    }
}

extension InboxStrings {
    var waitingColumn: String { language == .german ? "Wartet seit" : "Waiting" }
    var orderLabel: String { language == .german ? "Sortierung" : "Order" }
    var orderWaitingFirst: String {
        language == .german ? "Wartende zuerst (längste Wartezeit oben)" : "Waiting first (longest wait at the top)"
    }
    var orderLastActivity: String { language == .german ? "Neueste Aktivität zuerst" : "Latest activity first" }
    var orderLongestWaiting: String {
        language == .german ? "Unbeantwortete, längste Wartezeit zuerst" : "Unanswered, longest waiting first"
    }
    /// How the waiting time is shown to assistive technology (the column cell's title).
    var waitingExplanation: String {
        language == .german
            ? "Wartezeit der ältesten unbeantworteten Nachricht" : "How long the oldest unanswered message has waited"
    }
}
