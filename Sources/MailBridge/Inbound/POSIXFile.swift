import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// Release builds can attribute glibc's `struct stat` to the CDispatch clang module (it includes the same header);
// MemberImportVisibility then needs that module imported too.
#if canImport(CDispatch)
import CDispatch
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

    /// Writes `bytes` to a new file at `temporary`, fsyncs it and renames it to `final` (the directories are not
    /// synced: the caller decides when).
    static func writeDurably(_ bytes: Data, temporary: String, final: String) throws {
        let fd = try create(temporary)
        defer { closeFile(fd) }
        try bytes.withUnsafeBytes { try writeAll(fd, $0) }
        try sync(fd)
        try move(temporary, final)
    }

    static func move(_ from: String, _ to: String) throws(SpoolError) {
        guard rename(from, to) == 0 else { throw SpoolError(.rename, errno: errno) }
    }

    static func remove(_ path: String) throws(SpoolError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw SpoolError(.remove, errno: errno) }
    }

    /// Reads a whole file into one array allocated once (no intermediate `Data`), at most `limit` octets;
    /// a longer file throws `.read`, so a file that grew after spooling cannot make the buffer unbounded.
    static func readAll(_ path: String, limit: Int) throws(SpoolError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError(.open, errno: errno) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SpoolError(.read, errno: errno) }
        let size = Int(status.st_size)
        guard size <= limit else { throw SpoolError(.read, errno: EFBIG) }
        var failure: SpoolError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            while initialized < size {
                let count = read(fd, buffer.baseAddress! + initialized, size - initialized)
                if count < 0, errno == EINTR { continue }
                if count < 0 { failure = SpoolError(.read, errno: errno); break }
                if count == 0 { break }  // the file shrank: return what is there
                initialized += count
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// The size of a regular file; anything else (a folder, a device, a dangling link) throws `.read`.
    static func size(_ path: String) throws(SpoolError) -> Int {
        var status = stat()
        guard stat(path, &status) == 0 else { throw SpoolError(.read, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SpoolError(.read, errno: EINVAL) }
        return Int(status.st_size)
    }

    static func closeFile(_ fd: CInt) {
        _ = close(fd)
    }
}
