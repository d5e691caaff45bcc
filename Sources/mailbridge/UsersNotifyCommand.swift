import ArgumentParser
import MailBridge

struct UsersNotify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Set where notices about threads assigned to an account go, and how often.",
        discussion: "Notices carry no names, addresses, subjects or text; each links to the thread in the inbox "
            + "([notices] inbox-url). Without an own address, notices of the account's threads go to the field's "
            + "team address.\n\n" + adminExitCodes)
    @OptionGroup var options: ConfigOptions
    @Argument(help: "The login name.") var name: String
    @Option(help: "The account's notification address (stored sealed, never shown again).") var address: String?
    @Option(help: "each-message (default), hourly or daily (a digest counting new messages per field).")
    var mode: String?
    @Flag(help: "Remove the account's notification address.") var clear = false

    func run() async throws {
        try await options.run { installation, _ in
            try await UsersAdmin.setNotification(installation, username: name, address: address, mode: mode,
                                                 clear: clear)
        }
    }
}
