// Security: converts attacker-chosen octets with glibc iconv. The charset name always comes from the allow-list
// in CharsetLabels, never from the message; the output is capped; a descriptor never outlives one call. Nothing
// here logs.

#if canImport(Glibc)
import Glibc
#endif

/// One-shot, lossy conversion to UTF-8 through glibc `iconv(3)`.
enum IconvDecoder {
    /// Decodes `input` from the glibc charset `name`. Invalid or incomplete sequences become U+FFFD and decoding
    /// resumes one octet later; output beyond `maximumOutputBytes` is dropped and marked with U+FFFD. If iconv
    /// does not know `name` (a missing gconv module), the octets are read as UTF-8 with U+FFFD.
    static func decode(_ input: [UInt8], from name: String, maximumOutputBytes: Int) -> String {
        guard !input.isEmpty else { return "" }
        // iconv_open(tocode, fromcode): "(iconv_t) -1 is returned" on failure (iconv_open(3)).
        let descriptor = iconv_open("UTF-8", name)
        guard let descriptor, descriptor != iconv_t(bitPattern: -1) else {
            return String(decoding: input, as: UTF8.self)
        }
        defer { iconv_close(descriptor) }
        let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
        var output: [UInt8] = []
        let chunk = min(max(input.count * 4 + 16, 64), maximumOutputBytes + 16)
        var scratch = [UInt8](repeating: 0, count: chunk)
        var source = input
        source.withUnsafeMutableBufferPointer { sourceBuffer in
            scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                let base = UnsafeMutableRawPointer(sourceBuffer.baseAddress!).assumingMemoryBound(to: CChar.self)
                var inPointer: UnsafeMutablePointer<CChar>? = base
                var inLeft = sourceBuffer.count
                while inLeft > 0, output.count <= maximumOutputBytes {
                    let outBase = UnsafeMutableRawPointer(scratchBuffer.baseAddress!)
                        .assumingMemoryBound(to: CChar.self)
                    var outPointer: UnsafeMutablePointer<CChar>? = outBase
                    var outLeft = scratchBuffer.count
                    // size_t iconv(cd, &inbuf, &inbytesleft, &outbuf, &outbytesleft): returns (size_t) -1 with
                    // errno EILSEQ (invalid sequence), EINVAL (incomplete at the end) or E2BIG (output full).
                    let result = iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft)
                    let failure = result == -1 ? errno : 0
                    output += scratchBuffer[0..<(scratchBuffer.count - outLeft)]
                    guard result == -1 else {
                        // Flush: CP1255 and CP1258 hold back a base letter that a combining mark might follow.
                        outPointer = outBase
                        outLeft = scratchBuffer.count
                        _ = iconv(descriptor, nil, nil, &outPointer, &outLeft)
                        output += scratchBuffer[0..<(scratchBuffer.count - outLeft)]
                        break
                    }
                    switch failure {
                    case E2BIG: continue
                    case EILSEQ:
                        output += replacement
                        inPointer = inPointer.map { $0 + 1 }
                        inLeft -= 1
                    default:  // EINVAL: an incomplete sequence at the end
                        output += replacement
                        inLeft = 0
                    }
                }
            }
        }
        if output.count > maximumOutputBytes {
            output = Array(output.prefix(maximumOutputBytes))
            while let last = output.last, last & 0xC0 == 0x80 { output.removeLast() }  // a cut character
            if let last = output.last, last >= 0xC0 { output.removeLast() }
            output += replacement
        }
        var text = String(decoding: output, as: UTF8.self)
        if text.unicodeScalars.first == "\u{FEFF}" { text.unicodeScalars.removeFirst() }  // UTF-16 byte order mark
        return text
    }
}
