import Dispatch
public import ThreadStore

#if canImport(Glibc)
import Glibc
#endif

/// Allocator settings for the long-running daemon (`mailbridge serve`).
///
/// glibc's malloc serves a request of 128 KiB or more with its own `mmap` and unmaps it on `free`, but its
/// *dynamic* threshold (mallopt(3), `M_MMAP_THRESHOLD`) then rises to the size of the freed block, up to 32 MiB.
/// After the first large message every later message buffer (a 25 MiB spool read, a decrypted body) comes from
/// the heap arenas instead, one arena per thread that touched it, and freed arena memory is rarely given back:
/// measured with `scripts/bench-rss`, 20 clients × 25 MiB left the gateway at 253 MiB (plain) and 611 MiB
/// (PGP/MIME) resident although the pipeline holds one message at a time. A fixed threshold keeps every large
/// buffer in its own mapping, returned to the kernel as soon as it is freed (afterwards 127 / 321 MiB).
public enum ProcessMemory {
    /// Buffers of this many octets or more are mapped individually and unmapped on free.
    public static let mmapThreshold: Int32 = 128 * 1024
    /// `M_MMAP_THRESHOLD` from glibc's <malloc.h>.
    static let mmapThresholdParameter: Int32 = -3

    /// Fixes the mmap threshold (which also disables its dynamic adjustment). Call once at start, before the
    /// event loops and thread pools run. Returns false where the allocator is not glibc's or refused it.
    @discardableResult
    public static func configureForLargeMessages() -> Bool {
        #if canImport(Glibc)
        // <malloc.h> is not part of Swift's Glibc module, so mallopt is looked up at run time (dlsym(3)).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }  // RTLD_DEFAULT
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        // mallopt(3): "Setting M_MMAP_THRESHOLD … disables the dynamic adjustment"; returns 1 on success.
        return mallopt(mmapThresholdParameter, mmapThreshold) == 1
        #else
        return false
        #endif
    }

    /// One thread for ``returnFreedMemory(releasing:)``: the store's release blocks, and several requests run one
    /// after the other instead of piling up threads.
    private static let releaseQueue = DispatchQueue(label: "mailbridge.process-memory")

    /// After a large message (issue 18 §5): first the store's SQLite caches are emptied
    /// (``ThreadStore/releaseMemory()``), then the heap is trimmed (``returnFreedMemory()``), so the freed cache
    /// pages go back to the kernel as well. Runs on a thread of its own and returns at once. The code the burst
    /// ran is paged out too (``pageOutCode()``, issue 23), as after start-up.
    public static func returnFreedMemory(releasing store: ThreadStore) {
        releaseQueue.async {
            store.releaseMemory()
            returnFreedMemory()
            pageOutCode()
        }
    }

    /// Gives freed heap memory back to the kernel (malloc_trim(3): "attempts to release free memory from the
    /// heap", in every arena, also pages in the middle of it since glibc 2.8). Called after a large message: the
    /// pieces below the mmap threshold that parsing and sealing it left free otherwise keep the daemon's resident
    /// size high long after a burst (issue 18). Returns whether memory was released.
    @discardableResult
    public static func returnFreedMemory() -> Bool {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return false }
        typealias MallocTrim = @convention(c) (Int) -> Int32
        return unsafeBitCast(symbol, to: MallocTrim.self)(0) == 1
        #else
        return false
        #endif
    }
}
