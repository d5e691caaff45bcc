/// The exit statuses of the `mailbridge` command (documented in `docs/exit-codes.md` and `--help`).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Done; for `check-config`: the configuration is valid.
    case success = 0
    /// A run-time failure: a file could not be written, a key not created, …
    case failure = 1
    /// Wrong command-line usage: unknown option, missing argument, conflicting arguments.
    case usage = 2
    /// The configuration file is missing, unreadable or invalid.
    case invalidConfiguration = 3
}
