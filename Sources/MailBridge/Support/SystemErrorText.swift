#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A system error (`errno`) in words for the administrator: what failed, the system's reason and what to check
/// next (issue 22: every failure names what to do). The text holds the action and the reason, no numbers.
///
/// ```swift
/// SystemErrorText.sentence(errno, doing: "cannot create /var/lib/mailbridge")
/// // "cannot create /var/lib/mailbridge (Permission denied): run the command as root or as the service user, …"
/// ```
enum SystemErrorText {
    static func sentence(_ code: Int32, doing action: String) -> String {
        let next = switch code {
        case EACCES, EPERM: "run the command as root or as the service user, and check the permissions"
        case ENOENT, ENOTDIR: "check that the path exists (the data folder: `mailbridge init`)"
        case EEXIST: "choose a name that does not exist yet"
        case ENOSPC, EDQUOT: "free disk space, then run it again"
        case EROFS: "the file system is read-only here: use a writable place"
        case EADDRINUSE: "another program uses the port: stop it or change the port"
        default: "run it again; if it fails again, check the system log"
        }
        guard code != 0 else { return "\(action); \(next)" }
        return "\(action) (\(String(cString: strerror(code)))): \(next)"
    }
}
