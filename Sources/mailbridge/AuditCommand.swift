// `mailbridge audit`: argument parsing only; the logic is in MailBridge (`AuditAdmin`).

import ArgumentParser
import MailBridge

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the audit log: who read, answered, exported, assigned or deleted which thread, when, and "
            + "how (browser, API token, command line). The log holds no mail content.",
        discussion: adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Option(help: "Only entries about this thread ID.") var thread: String?
    @Option(help: "Only entries of this account (login name, or account ID for a deleted account).")
    var account: String?
    @Option(help: "Only entries since this date (2026-11-24) or UTC time (2026-11-24T08:00:00Z).") var since: String?
    @Option(help: "Only entries before this sequence number (#N), to page back.") var before: Int64?
    @Option(help: "Only entries about the threads and accounts of this [[organisation]] id.") var organisation: String?
    @Option(help: "The newest this many entries (1-10000), printed oldest first.") var limit = 100
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await options.run { installation, _ in
            try await AuditAdmin.list(installation, thread: thread, account: account, since: since, before: before,
                                      organisation: organisation, limit: limit, json: json)
        }
    }
}
