// Security: inflates attacker-controlled compressed data. Every call has an output cap (compression bombs) and
// fails rather than returning a partial result; the C stream state is owned by one function call and always
// ended, also on failure.

import CCompression

/// Decompression for OpenPGP compressed data packets (RFC 9580 §9.4: 1 ZIP = raw deflate, RFC 1951; 2 ZLIB =
/// RFC 1950; 3 BZip2), through zlib and libbzip2.
enum Decompressor {
    enum Failure: Error, Equatable {
        case unknownAlgorithm
        case corrupt
        case tooLarge
    }

    /// The decompressed bytes, at most `limit` of them.
    static func decompress(_ input: ArraySlice<UInt8>, algorithm: UInt8, limit: Int) throws(Failure) -> [UInt8] {
        switch algorithm {
        case 0: guard input.count <= limit else { throw .tooLarge }; return Array(input)
        case 1: return try inflate(input, windowBits: -15, limit: limit)
        case 2: return try inflate(input, windowBits: 15, limit: limit)
        case 3: return try bunzip(input, limit: limit)
        default: throw .unknownAlgorithm
        }
    }

    /// An empty output buffer reserved at four times the input (at most `limit`), so that a large message is
    /// not grown by doubling, which held the old and the new buffer at once (issue 23). Reserved pages that are
    /// never written are not resident (a large allocation is its own mapping), so reserving too much costs
    /// address space, not memory.
    private static func reservedOutput(for inputCount: Int, limit: Int) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(64 * 1024, inputCount.multipliedReportingOverflow(by: 4).partialValue)))
        return output
    }

    /// zlib `inflate` (zlib.h: "windowBits can also be -8..-15 for raw inflate").
    /// The input is read in place (zlib's `next_in` is `z_const`: inflate never writes through it).
    private static func inflate(_ input: ArraySlice<UInt8>, windowBits: Int32, limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt
        }
        defer { inflateEnd(&stream) }
        var output = reservedOutput(for: input.count, limit: limit)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let status: Int32 = input.withUnsafeBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress.map { UnsafeMutablePointer(mutating: $0) }
            stream.avail_in = UInt32(inBuffer.count)
            while true {
                let (result, produced) = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = UInt32(outBuffer.count)
                    let result = CCompression.inflate(&stream, Z_NO_FLUSH)
                    return (result, outBuffer.count - Int(stream.avail_out))
                }
                if output.count + produced > limit { return Z_MEM_ERROR }
                output.append(contentsOf: chunk[0..<produced])
                if result == Z_STREAM_END { return Z_STREAM_END }
                // No progress with all input consumed: the stream is truncated (gpg tolerates a missing end for
                // ZIP; nothing was lost, so accept it as the end).
                if result == Z_BUF_ERROR && stream.avail_in == 0 { return Z_STREAM_END }
                if result != Z_OK { return result }
            }
        }
        if status == Z_MEM_ERROR && output.count <= limit { throw .tooLarge }
        guard status == Z_STREAM_END else { throw .corrupt }
        return output
    }

    /// libbzip2 `BZ2_bzDecompress` (bzlib.h; "returns BZ_STREAM_END when the logical stream end is detected").
    /// The input is read in place (libbzip2 only reads through `next_in`).
    private static func bunzip(_ input: ArraySlice<UInt8>, limit: Int) throws(Failure) -> [UInt8] {
        var stream = bz_stream()
        guard BZ2_bzDecompressInit(&stream, 0, 0) == BZ_OK else { throw .corrupt }
        defer { BZ2_bzDecompressEnd(&stream) }
        var output = reservedOutput(for: input.count, limit: limit)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var tooLarge = false
        let status: Int32 = input.withUnsafeBytes { inBuffer in
            stream.next_in = inBuffer.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }?
                .assumingMemoryBound(to: CChar.self)
            stream.avail_in = UInt32(inBuffer.count)
            while true {
                let (result, produced) = chunk.withUnsafeMutableBytes { outBuffer in
                    stream.next_out = outBuffer.baseAddress?.assumingMemoryBound(to: CChar.self)
                    stream.avail_out = UInt32(outBuffer.count)
                    let result = BZ2_bzDecompress(&stream)
                    return (result, outBuffer.count - Int(stream.avail_out))
                }
                if output.count + produced > limit {
                    tooLarge = true
                    return BZ_MEM_ERROR
                }
                output.append(contentsOf: chunk[0..<produced])
                if result == BZ_STREAM_END { return BZ_STREAM_END }
                if result != BZ_OK { return result }
                if produced == 0 && stream.avail_in == 0 { return BZ_UNEXPECTED_EOF }
            }
        }
        if tooLarge { throw .tooLarge }
        guard status == BZ_STREAM_END else { throw .corrupt }
        return output
    }
}
