public import Foundation

/// A gpg program for tests (``PGPConfiguration/engineExecutable``): runs the real gpg, notes the kind of every run,
/// and kills the runs of a kind the test chose with SIGKILL before gpg starts, as a killed gpg looks to gpgme (no
/// status line, closed pipes). Deterministic, unlike killing processes from outside at random moments.
///
/// ```swift
/// let engine = try FaultingEngine()
/// engine.kill(.keyImport, next: 1)          // the next real import dies
/// let pgp = try PGPService(configuration: PGPConfiguration(homeDirectory: home,
///                                                          engineExecutable: engine.executable))
/// ```
public final class FaultingEngine: Sendable {
    /// What a run does, told by its arguments as gpgme passes them.
    public enum Run: String, Sendable, CaseIterable {
        /// `--dry-run --import`: gpgme_op_keylist_from_data's listing of key data.
        case keyListing = "list"
        /// `--import` without `--dry-run`: gpgme_op_import.
        case keyImport = "import"
        /// `--decrypt`.
        case decryption = "decrypt"
        /// `--list-keys` or `--list-secret-keys`: a key look-up or listing of the keyring.
        case lookup
        /// `--encrypt` (with or without `--sign`).
        case encryption = "encrypt"
        /// `--export`.
        case export
        /// Everything else (listings, `--version`, signing, encryption …).
        case other
    }

    public let folder: URL
    /// The wrapper script's path.
    public var executable: String { folder.appendingPathComponent("gpg").path }

    public init() throws {
        folder = URL(fileURLWithPath: "/tmp/mb-engine-\(UUID().uuidString.prefix(10))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard let gpg = Shell.which("gpg") else {
            throw Shell.Failure(command: "gpg", result: Shell.Result(status: 127, stdout: [], stderr: "not installed"))
        }
        let script = """
            #!/bin/bash
            # MailBridge test engine (Tests/TestSupport/FaultingEngine.swift): the real gpg, but runs of a kind named
            # by a fault-<kind> file ("all" or a count of runs still to kill) die by SIGKILL before gpg starts;
            # "drop:KEYWORD" runs gpg but keeps that status line from gpgme.
            dir="$(dirname "$0")"
            kind=other; dry=; imp=; prev=; sfd=
            for a in "$@"; do
              case "$a" in
                --dry-run) dry=1 ;;
                --import) imp=1 ;;
                --decrypt) kind=decrypt ;;
                --list-keys|--list-secret-keys) kind=lookup ;;
                --encrypt) kind=encrypt ;;
                --export) kind=export ;;
              esac
              [ "$prev" = --status-fd ] && sfd=$a
              prev=$a
            done
            if [ -n "$imp" ]; then if [ -n "$dry" ]; then kind=list; else kind=import; fi; fi
            exec 9>>"$dir/lock"
            flock 9
            echo "$kind $*" >> "$dir/runs"
            f="$dir/fault-$kind"
            if [ -f "$f" ]; then
              n=$(cat "$f")
              if [ "$n" = all ]; then kill -9 $$; fi
              case "$n" in
                drop:*)
                  # gpg runs to its end, but one status line never reaches gpgme (as if gpg died before it).
                  # bash, not dash: gpgme's status descriptor has two digits, which dash cannot redirect.
                  [ -n "$sfd" ] || exit 70
                  exec 9>&-
                  exec 5>&1
                  eval "\(gpg) \\"\\$@\\" $sfd>&1 1>&5 5>&- | grep --line-buffered -v '^\\[GNUPG:\\] ${n#drop:}' >&$sfd"
                  exit 0 ;;
              esac
              if [ "$n" -gt 0 ] 2>/dev/null; then echo $((n - 1)) > "$f"; kill -9 $$; fi
            fi
            exec 9>&-
            exec \(gpg) "$@"

            """
        let path = folder.appendingPathComponent("gpg")
        try Data(script.utf8).write(to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path.path)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    /// Kills the next `count` runs of `kind` (nil: every run until ``heal(_:)``).
    public func kill(_ kind: Run, next count: Int? = nil) throws {
        try Data((count.map(String.init) ?? "all").utf8).write(to: faultFile(kind))
    }

    /// Lets every run of `kind` go through to its end but keeps gpg's `keyword` status line from gpgme, as if gpg
    /// had been killed just before it printed it.
    public func drop(_ keyword: String, from kind: Run) throws {
        try Data("drop:\(keyword)".utf8).write(to: faultFile(kind))
    }

    /// Lets every run of `kind` go through again.
    public func heal(_ kind: Run) {
        try? FileManager.default.removeItem(at: faultFile(kind))
    }

    /// How many runs of `kind` started (killed or not) since the engine was made or ``resetCounts()``.
    public func runs(_ kind: Run) -> Int {
        allRuns.filter { $0.split(separator: " ", maxSplits: 1).first.map(String.init) == kind.rawValue }.count
    }

    /// How many runs had `argument` among their arguments (exactly, or as a prefix when it ends in `-`).
    public func runs(withArgument argument: String) -> Int {
        allRuns.filter { line in
            line.split(separator: " ").dropFirst().contains { $0 == argument || (argument.hasSuffix("-") && $0.hasPrefix(argument)) }
        }.count
    }

    /// Every run since the engine was made or ``resetCounts()``: its kind, then its arguments.
    public var allRuns: [String] {
        let text = (try? String(contentsOf: folder.appendingPathComponent("runs"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    public func resetCounts() {
        try? FileManager.default.removeItem(at: folder.appendingPathComponent("runs"))
    }

    private func faultFile(_ kind: Run) -> URL { folder.appendingPathComponent("fault-\(kind.rawValue)") }
}
