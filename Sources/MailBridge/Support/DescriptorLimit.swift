#if canImport(Glibc)
import Glibc
#endif

/// The daemon's limit of open file descriptors, kept at or below `select(2)`'s `FD_SETSIZE`.
///
/// libetpan (the IMAP fetcher's connection) waits for its sockets with `select(2)`, and Debian builds it with
/// `_FORTIFY_SOURCE`: `FD_SET` on a descriptor of 1024 or more aborts the whole process (`__fdelt_chk`), and a
/// build without the check would write past the `fd_set` instead. With the soft limit at 1024 the kernel never
/// hands out such a descriptor: when a burst of SMTP sessions uses them all, `accept(2)` and `socket(2)` fail
/// with `EMFILE` (SwiftNIO pauses accepting, an IMAP cycle fails and is retried) rather than the gateway dying
/// with every session it holds. `mailbridge check-config` warns when `[smtp] max-connections` leaves too few of
/// the 1024 for everything else (``reservedDescriptors``).
public enum DescriptorLimit {
    /// `FD_SETSIZE` of glibc: the first descriptor `select(2)` cannot watch.
    public static let selectLimit = 1024
    /// Descriptors the daemon needs besides its SMTP sessions: listeners, the store and its WAL, the spool, gpg's
    /// pipes, the web inbox's and the smarthost's connections, IMAP sources, logs.
    public static let reservedDescriptors = 256

    /// The largest `[smtp] max-connections` that leaves ``reservedDescriptors`` of the 1024.
    public static var maximumSMTPConnections: Int { selectLimit - reservedDescriptors }

    /// Lowers the soft `RLIMIT_NOFILE` to ``selectLimit`` if it is higher (unlimited, glibc's `RLIM_INFINITY`, is
    /// `rlim_t.max`, so higher too); the hard limit is left as it is.
    /// Returns the soft limit in force afterwards, or nil if it could not be read or set.
    @discardableResult
    public static func capForSelect() -> Int? {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur > rlim_t(selectLimit) {
            limit.rlim_cur = rlim_t(selectLimit)
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        }
        return Int(limit.rlim_cur)
        #else
        return nil
        #endif
    }

    /// The current soft limit of open descriptors (nil if it cannot be read).
    public static var current: Int? {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(limit.rlim_cur)
        #else
        return nil
        #endif
    }
}
