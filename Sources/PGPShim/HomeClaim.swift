// Security: runs once at daemon start, before any message is processed. It reads /proc (command lines of this
// user's processes, to find gpg processes bound to our GnuPG home), may signal those processes, and runs
// `gpgconf --kill gpg-agent` for the home. It reads no key material and no message data.

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's hold on its GnuPG home for its whole life (issue 28).
///
/// `gpg` processes outlive a `kill -9` of the daemon (gpgme double-forks them; gpg-agent too). A `gpg --import`
/// left running by the killed daemon still rewrites `pubring.kbx` (a new file renamed into place, the old one
/// renamed away first), and a decryption of the new daemon in that window reads no keyring and reports "No
/// secret key". So before the pipeline runs, ``PGPService/claimHome(staleProcessTimeout:)``:
/// 1. takes an exclusive `flock(2)` on `<home>/.mailbridge-daemon.lock`, held until this value is released, so
///    two daemons never serve one home (a second one fails to start with a clear error);
/// 2. waits (bounded) until no gpg process of ours still names the home (`--homedir <home>`, as gpgme starts
///    gpg), then ends the ones left (SIGTERM, then SIGKILL);
/// 3. stops the home's gpg-agent (`gpgconf --homedir <home> --kill gpg-agent`); gpg starts a fresh one on the
///    next operation; puts back a torn keyring (``KeyboxRepair``) and deletes the lock temporaries killed gpg
///    processes left (``StaleLockFiles``);
/// all while holding the keyring's exclusive lock (``KeyringLock``), so no operation of this process or of a
/// `mailbridge` command runs meanwhile. The runtime lock (per operation, across processes) takes over afterwards.
public final class HomeClaim: Sendable {
    /// What the claim found and did; content-free, for the start-up log.
    public struct Report: Sendable, Hashable, CustomStringConvertible {
        /// gpg processes bound to the home when the claim started.
        public var staleProcesses = 0
        /// Of those, how many had to be signalled because they did not end within the timeout.
        public var terminated = 0
        /// Whether `gpgconf --kill gpg-agent` ran successfully.
        public var agentStopped = false
        /// The file a torn `pubring.kbx` was restored from (``KeyboxRepair``), if it was torn.
        public var keyringRestoredFrom: String?
        /// Lock temporaries of killed gpg processes deleted (``StaleLockFiles``).
        public var staleLockFiles = 0

        public var description: String {
            "stale gpg processes: \(staleProcesses), terminated: \(terminated), agent stopped: \(agentStopped)"
                + (staleLockFiles > 0 ? ", stale lock files deleted: \(staleLockFiles)" : "")
                + (keyringRestoredFrom.map { ", keyring restored from \($0)" } ?? "")
        }
    }

    private let descriptor: Int32
    public let report: Report

    private init(descriptor: Int32, report: Report) {
        self.descriptor = descriptor
        self.report = report
    }

    deinit { close(descriptor) }

    /// Gives the home up before this value is released (a daemon that stopped); idempotent.
    public func release() { _ = flock(descriptor, LOCK_UN) }

    /// Blocking; call it on a thread that may block (``PGPService`` does).
    static func claim(home: String, staleProcessTimeout: TimeInterval) throws(PGPError) -> HomeClaim {
        let path = home + "/.mailbridge-daemon.lock"
        guard let fd = HomeFileLock.open(path) else {
            throw PGPError(.homeDirectory, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EAGAIN ? "another MailBridge daemon serves this GnuPG home"
                                              : String(cString: strerror(errno))
            close(fd)
            throw PGPError(.homeDirectory, "cannot claim the GnuPG home \(home): \(reason)")
        }
        var report = Report()
        var stale = StaleProcesses.bound(to: home)
        report.staleProcesses = stale.count
        let deadline = Date().addingTimeInterval(staleProcessTimeout)
        while !stale.isEmpty && Date() < deadline {
            usleep(50_000)
            stale = stale.filter(StaleProcesses.isAlive)
        }
        if !stale.isEmpty {
            report.terminated = stale.count
            for pid in stale { kill(pid, SIGTERM) }
            let hardDeadline = Date().addingTimeInterval(2)
            while !stale.isEmpty && Date() < hardDeadline {
                usleep(50_000)
                stale = stale.filter(StaleProcesses.isAlive)
            }
            for pid in stale { kill(pid, SIGKILL) }
        }
        report.agentStopped = stopAgent(home: home)
        // No gpg of ours runs now: a keyring torn by a gpg killed mid-replacement is put back before any use.
        report.keyringRestoredFrom = KeyboxRepair.repair(home: home)
        report.staleLockFiles = StaleLockFiles.remove(home: home)
        return HomeClaim(descriptor: fd, report: report)
    }

    /// `gpgconf --homedir <home> --kill gpg-agent` (gpgconf(1): "--kill component: Kill a given component and
    /// its children"); false if gpgconf is missing or fails. Bounded to 10 seconds.
    private static func stopAgent(home: String) -> Bool {
        guard let gpgconf = ["/usr/bin/gpgconf", "/usr/local/bin/gpgconf", "/bin/gpgconf"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gpgconf)
        process.arguments = ["--homedir", home, "--kill", "gpg-agent"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            return false
        }
        return process.terminationStatus == 0
    }
}

/// gpg processes of this user that name a GnuPG home on their command line (Linux `/proc`).
enum StaleProcesses {
    /// PIDs of `gpg`/`gpg2` processes (not this process) whose arguments contain `--homedir <home>`.
    static func bound(to home: String) -> [pid_t] {
        let wanted = URL(fileURLWithPath: home).standardizedFileURL.path
        let ownPID = getpid()
        let uid = getuid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var found: [pid_t] = []
        for entry in entries {
            guard let pid = pid_t(entry), pid != ownPID else { continue }
            let owner = (try? FileManager.default.attributesOfItem(atPath: "/proc/\(entry)"))?[.ownerAccountID]
            guard (owner as? NSNumber)?.uint32Value == uid,
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), data.count <= 65_536
            else { continue }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let program = arguments.first.map({ URL(fileURLWithPath: $0).lastPathComponent }),
                program == "gpg" || program == "gpg2"
            else { continue }
            let named = zip(arguments, arguments.dropFirst()).contains { flag, value in
                flag == "--homedir" && URL(fileURLWithPath: value).standardizedFileURL.path == wanted
            }
            if named { found.append(pid) }
        }
        return found
    }

    /// kill(2) with signal 0: "error checking is still performed", so ESRCH means the process is gone. A zombie
    /// (ended, not yet reaped by its parent) counts as gone.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = status.lastIndex(of: ")")
        else { return false }
        return !status[close...].hasPrefix(") Z")
    }
}
