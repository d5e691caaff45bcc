import CGPGME

#if canImport(Glibc)
import Glibc
#endif

/// Owns one `gpgme_data_t`. Not Sendable: a data object belongs to the context operation using it.
final class GPGData {
    let handle: gpgme_data_t
    /// Present for sinks built with ``cappedSink(limit:)``: the bytes written so far and whether the cap was hit.
    private let sink: CappedSink?
    private let callbacks: UnsafeMutablePointer<gpgme_data_cbs>?
    /// Present for sources built with ``init(reading:of:)``: what gpgme's read callback reads.
    private let reader: RangeReader?

    /// An empty, growable memory buffer (`gpgme_data_new`).
    init() throws(PGPError) {
        var handle: gpgme_data_t?
        try GPGME.check(gpgme_data_new(&handle), "creating a data buffer")
        guard let handle else { throw PGPError(.operationFailed, "gpgme_data_new returned no handle") }
        self.handle = handle
        self.sink = nil
        self.callbacks = nil
        self.reader = nil
    }

    /// A buffer holding a copy of `bytes` (`gpgme_data_new_from_mem` with copy = 1, so gpgme owns its copy).
    init(copying bytes: [UInt8]) throws(PGPError) {
        var handle: gpgme_data_t?
        let error = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) {
                gpgme_data_new_from_mem(&handle, $0, buffer.count, 1)
            }
        }
        try GPGME.check(error, "copying input into a data buffer")
        guard let handle else { throw PGPError(.operationFailed, "gpgme_data_new_from_mem returned no handle") }
        self.handle = handle
        self.sink = nil
        self.callbacks = nil
        self.reader = nil
    }

    /// Runs `body` with a data object reading `bytes` in place, without a copy (`gpgme_data_new_from_mem` with
    /// copy = 0: "the memory is not copied ... it must stay valid for the lifetime of the data object", GPGME
    /// manual §6.1.1). The object is created and released inside the scope of `withUnsafeBufferPointer`, so the
    /// pointer cannot outlive the array; `body` must not keep the object. Issue 23: a 25 MiB ciphertext was
    /// copied into gpgme for every run.
    static func withBorrowed<Value>(_ bytes: [UInt8],
                                    _ body: (GPGData) throws(PGPError) -> Value) throws(PGPError) -> Value {
        let outcome: Result<Value, PGPError> = bytes.withUnsafeBufferPointer { buffer in
            do throws(PGPError) {
                guard buffer.count > 0 else { throw PGPError(.invalidInput, "input is empty") }
                var handle: gpgme_data_t?
                let error = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(buffer.count, 1)) {
                    gpgme_data_new_from_mem(&handle, $0, buffer.count, 0)
                }
                try GPGME.check(error, "borrowing input for a data buffer")
                guard let handle else {
                    throw PGPError(.operationFailed, "gpgme_data_new_from_mem returned no handle")
                }
                let data = GPGData(borrowing: handle)
                defer { withExtendedLifetime(data) {} }  // released here, before the buffer pointer's scope ends
                return .success(try body(data))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    private init(borrowing handle: gpgme_data_t) {
        self.handle = handle
        self.sink = nil
        self.callbacks = nil
        self.reader = nil
    }

    /// A write-only sink that fails the operation once more than `limit` bytes arrive. gpgme keeps the pointer
    /// to the callback table, so it lives on the heap for the object's lifetime
    /// (https://gnupg.org/documentation/manuals/gpgme/Callback-Based-Data-Buffers.html).
    ///
    /// `expected`: the size the output will probably have (the ciphertext's, for a decryption); the first buffer
    /// is reserved at that size (at most `limit`), so a large plaintext is not grown by doubling, which held the
    /// old and the new buffer at once and up to twice the plaintext (issue 23). The cap is checked the same way.
    init(cappedSinkWithLimit limit: Int, expected: Int = 0) throws(PGPError) {
        let sink = CappedSink(limit: limit, expected: expected)
        let callbacks = UnsafeMutablePointer<gpgme_data_cbs>.allocate(capacity: 1)
        callbacks.initialize(to: gpgme_data_cbs(read: nil, write: cappedSinkWrite, seek: nil, release: nil))
        var handle: gpgme_data_t?
        let error = gpgme_data_new_from_cbs(&handle, callbacks, Unmanaged.passUnretained(sink).toOpaque())
        guard error == 0, let handle else {
            callbacks.deallocate()
            try GPGME.check(error, "creating an output sink")
            throw PGPError(.operationFailed, "gpgme_data_new_from_cbs returned no handle")
        }
        self.handle = handle
        self.sink = sink
        self.callbacks = callbacks
        self.reader = nil
    }

    /// A read-only source giving gpg the octets of `ranges` of `file`, one after the other, read with `pread`
    /// as gpg asks for them (`gpgme_data_new_from_cbs`, "Callback Based Data Buffers", GPGME manual §6.1.3): no
    /// copy of the ciphertext in memory, and exactly the octets the shape check read.
    init(reading ranges: [Range<Int>], of file: CiphertextFile) throws(PGPError) {
        let reader = RangeReader(file: file, ranges: ranges)
        let callbacks = UnsafeMutablePointer<gpgme_data_cbs>.allocate(capacity: 1)
        callbacks.initialize(to: gpgme_data_cbs(read: rangeRead, write: nil, seek: rangeSeek, release: nil))
        var handle: gpgme_data_t?
        let error = gpgme_data_new_from_cbs(&handle, callbacks, Unmanaged.passUnretained(reader).toOpaque())
        guard error == 0, let handle else {
            callbacks.deallocate()
            try GPGME.check(error, "creating an input source")
            throw PGPError(.operationFailed, "gpgme_data_new_from_cbs returned no handle")
        }
        self.handle = handle
        self.sink = nil
        self.callbacks = callbacks
        self.reader = reader
        // "size-hint" (gpgme_data_set_flag, SINCE 1.7.1): gpgme passes it on as `--input-size-hint`, as it does
        // the length of a memory buffer, so gpg runs with the same arguments either way.
        _ = gpgme_data_set_flag(handle, "size-hint", String(reader.count))
    }

    deinit {
        gpgme_data_release(handle)
        callbacks?.deallocate()
        sink?.wipe()
    }

    /// True if this is a capped sink and more than its limit was written.
    var overflowed: Bool { sink?.overflowed ?? false }

    /// Takes the bytes collected by a capped sink, leaving it empty.
    func takeSinkBytes() -> [UInt8] { sink?.take() ?? [] }

    /// The first `count` bytes a capped sink collected, and how many it holds in all.
    func sinkPrefix(_ count: Int) -> (prefix: [UInt8], total: Int) {
        guard let sink else { return ([], 0) }
        return (Array(sink.bytes.prefix(count)), sink.bytes.count)
    }

    /// Runs `body` on the bytes a capped sink collected so far, without taking or copying them.
    func withSinkBytes<Result>(_ body: ([UInt8]) -> Result) -> Result { body(sink?.bytes ?? []) }

    /// Zeroes whatever a capped sink collected (used when an operation fails after output was produced).
    func wipeSink() { sink?.wipe() }

    /// Reads a memory buffer from the start, up to `limit` bytes.
    func readAll(limit: Int) throws(PGPError) -> [UInt8] {
        // gpgme_data_seek on memory buffers: "whence" SEEK_SET rewinds (GPGME manual §6.3).
        guard gpgme_data_seek(handle, 0, SEEK_SET) == 0 else {
            throw PGPError(.operationFailed, "rewinding a data buffer failed")
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { gpgme_data_read(handle, $0.baseAddress, $0.count) }
            if count < 0 { throw PGPError(.operationFailed, "reading a data buffer failed") }
            if count == 0 { break }
            guard output.count + count <= limit else {
                throw PGPError(.outputTooLarge, "output exceeds \(limit) bytes")
            }
            output.append(contentsOf: chunk[0..<count])
        }
        return output
    }
}

@available(*, unavailable)
extension GPGData: Sendable {}

/// Bytes written by gpg, capped. Accessed only from the thread running the owning operation (internal, not
/// private, so its growth and cap are unit-tested without an engine).
final class CappedSink {
    let limit: Int
    /// The first buffer's capacity (at most `limit`); 0 for the default growth.
    let expected: Int
    var bytes: [UInt8] = []
    var overflowed = false

    init(limit: Int, expected: Int = 0) {
        self.limit = limit
        self.expected = min(max(0, expected), limit)
    }

    func write(_ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        guard !overflowed, bytes.count + count <= limit else {
            overflowed = true
            wipe()
            errno = EFBIG
            return -1
        }
        if bytes.count + count > bytes.capacity { grow(toHold: bytes.count + count) }
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: count))
        return count
    }

    /// Moves the bytes into a larger buffer and zeroes the old one. Left to itself, the array would reallocate
    /// and free its smaller buffers with plaintext still in them; this way every buffer that held plaintext is
    /// zeroed before it goes back to the allocator (doubling, as the array would, up to the limit).
    private func grow(toHold needed: Int) {
        var larger: [UInt8] = []
        let first = bytes.capacity == 0 ? expected : 0
        larger.reserveCapacity(min(limit, max(needed, first, 2 * bytes.capacity, 16 * 1024)))
        larger.append(contentsOf: bytes)
        wipe()
        bytes = larger
    }

    func take() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }

    /// Overwrites the collected bytes before dropping them, so plaintext of a rejected message does not linger.
    func wipe() {
        // explicit_bzero(3): a zeroing the compiler may not drop as a dead store.
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { explicit_bzero(base, buffer.count) }
        }
        bytes = []
    }
}

/// `gpgme_data_write_cb_t`: returns the bytes taken, or -1 with errno set (the engine then fails the operation).
private let cappedSinkWrite: gpgme_data_write_cb_t = { handle, buffer, size in
    guard let handle, let buffer else {
        errno = EINVAL
        return -1
    }
    return Unmanaged<CappedSink>.fromOpaque(handle).takeUnretainedValue().write(buffer, size)
}

/// Ranges of a ``CiphertextFile`` read one after the other, from a position gpgme may move (``rangeSeek``).
/// Accessed only from the thread running the owning operation.
final class RangeReader {
    let file: CiphertextFile
    let ranges: [Range<Int>]
    let count: Int
    private(set) var position = 0

    init(file: CiphertextFile, ranges: [Range<Int>]) {
        self.file = file
        self.ranges = ranges
        self.count = ranges.reduce(0) { $0 + $1.count }
    }

    /// Reads at most `size` octets at the current position: the octets read, 0 at the end, -1 with errno set.
    func read(into buffer: UnsafeMutableRawPointer, _ size: Int) -> Int {
        guard size > 0, position < count else { return 0 }
        var skipped = 0
        for range in ranges {
            guard position < skipped + range.count else {
                skipped += range.count
                continue
            }
            let offset = range.lowerBound + (position - skipped)
            let wanted = min(size, range.upperBound - offset)
            let got = file.read(into: buffer, count: wanted, at: offset)
            if got < 0 { return -1 }
            if got == 0 {
                errno = EIO  // the file is shorter than what was checked: never pass on less silently
                return -1
            }
            position += got
            return got
        }
        return 0
    }

    /// Moves the position (`whence` SEEK_SET, SEEK_CUR or SEEK_END): the new position, or -1 with errno set.
    func seek(_ offset: Int, _ whence: Int32) -> Int {
        let base: Int
        switch whence {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = position
        case SEEK_END: base = count
        default:
            errno = EINVAL
            return -1
        }
        let target = base.addingReportingOverflow(offset)
        guard !target.overflow, target.partialValue >= 0 else {
            errno = EINVAL
            return -1
        }
        position = target.partialValue
        return position
    }
}

/// `gpgme_data_read_cb_t`: "return the number of bytes read, 0 on EOF, -1 on error" with errno set.
private let rangeRead: gpgme_data_read_cb_t = { handle, buffer, size in
    guard let handle, let buffer else {
        errno = EINVAL
        return -1
    }
    return Unmanaged<RangeReader>.fromOpaque(handle).takeUnretainedValue().read(into: buffer, size)
}

/// `gpgme_data_seek_cb_t`: the new position, or -1 with errno set.
private let rangeSeek: gpgme_data_seek_cb_t = { handle, offset, whence in
    guard let handle else {
        errno = EINVAL
        return -1
    }
    return off_t(Unmanaged<RangeReader>.fromOpaque(handle).takeUnretainedValue().seek(Int(offset), whence))
}
