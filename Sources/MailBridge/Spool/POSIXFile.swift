import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, blocking POSIX helpers for the spool. Call them off the event loops (NIOThreadPool).
enum POSIXFile {
    static func create(_ path: String) throws(SpoolError) -> CInt {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError(.open, errno: errno) }
        return fd
    }

    static func writeAll(_ fd: CInt, _ bytes: UnsafeRawBufferPointer) throws(SpoolError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw SpoolError(.write, errno: errno)
            }
            offset += written
        }
    }

    static func sync(_ fd: CInt) throws(SpoolError) {
        guard fsync(fd) == 0 else { throw SpoolError(.sync, errno: errno) }
    }

    /// fsync of a directory makes renames and unlinks in it durable (POSIX fsync; Linux ext4/xfs semantics).
    static func syncDirectory(_ path: String) throws(SpoolError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError(.sync, errno: errno) }
        defer { close(fd) }
        try sync(fd)
    }

    static func move(_ from: String, _ to: String) throws(SpoolError) {
        guard rename(from, to) == 0 else { throw SpoolError(.rename, errno: errno) }
    }

    static func remove(_ path: String) throws(SpoolError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw SpoolError(.remove, errno: errno) }
    }

    static func closeFile(_ fd: CInt) {
        _ = close(fd)
    }
}
