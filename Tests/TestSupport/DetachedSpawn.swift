public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts a test server (Dovecot, PostgreSQL's `pg_ctl`) so that it holds nothing of the test process: a python3
/// trampoline closes every descriptor above 2 and execs the command in the same process (the returned pid is the
/// command's own), optionally in a session of its own; the signal mask is empty and SIGTERM, SIGINT, SIGHUP,
/// SIGPIPE and SIGCHLD are at their defaults (the test runner may block or ignore them); stdin is /dev/null and
/// stdout/stderr are appended to `output`. Not Foundation's `Process`: a server that inherited another test's pipe
/// would keep that test waiting for EOF, and `Process.waitUntilExit` was seen to hang on `runuser … pg_ctl start`.
public enum DetachedSpawn {
    /// The child's pid, or nil if `posix_spawn` failed.
    public static func start(_ command: [String], output: String = "/dev/null", newSession: Bool) -> pid_t? {
        let trampoline = "import os, sys; os.closerange(3, os.sysconf('SC_OPEN_MAX')); "
            + (newSession ? "os.setsid(); " : "") + "os.execv(sys.argv[1], sys.argv[1:])"
        let arguments = ["/usr/bin/python3", "-c", trampoline] + command
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var child: pid_t = 0
        guard posix_spawn(&child, arguments[0], &actions, &attributes, &argv, environ) == 0 else { return nil }
        return child
    }
}
