#if canImport(Glibc)
import Glibc
#endif

/// What the idle daemon keeps resident (issue 23; the breakdown is in BENCHMARKS.md, `scripts/bench-rss-idle`).
///
/// Of about 52 MiB resident 3 s after start, 46 MiB were clean pages of mapped files, not allocations: the
/// executable's whole `.text` (15.3 MiB: the kernel maps it in large folios, so start-up's scattered calls into
/// configuration, migrations, key checks and service start leave all of it mapped) and the Swift runtime,
/// Foundation and C libraries. Allocations were 6 MiB, of which glibc's per-thread arenas held 1.8 MiB.
extension ProcessMemory {
    /// `M_ARENA_MAX` from glibc's <malloc.h>.
    static let arenaMaximumParameter: Int32 = -8

    /// Caps glibc's malloc arenas at the number of cores (at least 2) instead of 8 per core: each thread that
    /// allocates otherwise gets an arena of its own (up to 16 on 2 cores), each keeping freed memory of its own.
    /// Allocation stays thread-safe; threads share arenas under its lock. Call once at start, before the event
    /// loops and thread pools run. Returns false where the allocator is not glibc's or refused it.
    @discardableResult
    public static func limitArenas(cores: Int) -> Bool {
        #if canImport(Glibc)
        // RTLD_DEFAULT
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        // mallopt(3) M_ARENA_MAX: "the maximum number of arenas that can be created"; returns 1 on success.
        return unsafeBitCast(symbol, to: Mallopt.self)(arenaMaximumParameter, Int32(clamping: max(2, cores))) == 1
        #else
        return false
        #endif
    }

    /// `MADV_PAGEOUT` from <linux/mman.h> (Linux 5.4).
    static let pageOutAdvice: Int32 = 21

    /// Gives the pages of the executable's code back to the kernel (madvise(2) `MADV_PAGEOUT`: "reclaim a given
    /// range of pages"): once the daemon runs, for the code only start-up used, and after a large message
    /// (``returnFreedMemory(releasing:)``), for the code only that burst used. Only the executable's mappings
    /// without write permission are advised. Page-out never discards data: a clean file page is dropped from this
    /// process and read again from the page cache or the executable file when code on it runs again; a changed
    /// (relocated) page is anonymous memory and stays, as there is no swap to write it to. Shared libraries are
    /// left alone (their pages are mostly shared with other processes, which page-out skips). The daemon's steady
    /// work then maps back only the code it runs. Returns the bytes advised, or 0 where it is unsupported.
    @discardableResult
    public static func pageOutCode() -> Int {
        #if os(Linux)
        guard let maps = procText("/proc/self/maps"), let executable = executablePath() else { return 0 }
        var advised = 0
        for line in maps.split(separator: "\n") {
            // "start-end perms offset dev inode path" (proc(5))
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5...].joined(separator: " ") == executable,
                !fields[1].contains("w")
            else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                end > start, let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            if madvise(address, Int(end - start), pageOutAdvice) == 0 { advised += Int(end - start) }
        }
        return advised
        #else
        return 0
        #endif
    }

    #if os(Linux)
    /// A file under /proc read to its end (its size is not known in advance), at most 4 MiB.
    private static func procText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while bytes.count < 4 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(contentsOf: chunk[..<count])
        }
        return nil
    }

    /// The running executable's path, as /proc/self/maps names it (readlink(2) of /proc/self/exe).
    private static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    #endif
}
