// Security: tells which process this is, and whether another process of this machine is gone, for the node-name
// claim on PostgreSQL (``NodeClaimService``). Reads /proc (the boot ID, a process's stat line); no personal data.

import Foundation
import StorePostgres

#if canImport(Glibc)
import Glibc
#endif

/// This process as the node-name claim records it, and whether a recorded process still runs.
enum ProcessIdentity {
    /// This process: the boot ID, its process ID and its start time; nil where /proc does not tell them.
    static func current() -> NodeProcess? {
        #if os(Linux)
        guard let boot = bootID(), let start = startTime(getpid()) else { return nil }
        return NodeProcess(boot: boot, pid: getpid(), start: start)
        #else
        return nil
        #endif
    }

    /// Whether `process` (of this machine, in this boot: the caller compares the boot IDs) no longer runs: no
    /// process has its ID, or the one that has it started at another time (the ID was used again).
    static func isGone(_ process: NodeProcess) -> Bool {
        #if os(Linux)
        guard process.boot == bootID(), process.pid > 0 else { return false }
        guard let start = startTime(process.pid) else {
            // No stat line: gone, unless /proc hides it (then it cannot be told, and it is not taken as gone).
            return errno == ENOENT || errno == ESRCH
        }
        return start != process.start
        #else
        return false
        #endif
    }

    #if os(Linux)
    static func bootID() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
            return nil
        }
        let boot = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return boot.utf8.count == 36 ? boot : nil
    }

    /// Field 22 of /proc/<pid>/stat (proc(5)): the start time in clock ticks after boot. Leaves `errno` set when
    /// the file cannot be opened.
    static func startTime(_ pid: Int32) -> Int64? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else {
            errno = EIO
            return nil
        }
        // The command name (field 2) is in parentheses and may hold spaces and parentheses: fields after the last ')'.
        let line = String(decoding: buffer[..<count], as: UTF8.self)
        guard let end = line.lastIndex(of: ")") else {
            errno = EIO
            return nil
        }
        let fields = line[line.index(after: end)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (the state), so field 22 is fields[19].
        guard fields.count > 19, let start = Int64(fields[19]) else {
            errno = EIO
            return nil
        }
        return start
    }
    #endif
}
