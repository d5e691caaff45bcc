import CEtPan

/// Owns one libetpan MIME tree and the input buffer its pointers refer to.
///
/// `mailmime_parse` does not copy the message: every `mm_mime_start` and body `dt_data` points into the buffer
/// passed in, so the buffer lives exactly as long as the tree. Both are freed in `deinit` (`mailmime_free`,
/// mailmime_types.h). Used inside one ``MIMEParser/parse(_:)`` call on one thread and never shared.
final class EtPanMIMETree {
    let buffer: UnsafeMutableBufferPointer<CChar>
    let root: UnsafeMutablePointer<mailmime>
    /// Where `buffer` starts in the whole message: 0, or a body part's offset when one part is parsed on its own
    /// (``DelimiterLineSplitter``). Offsets handed out are always offsets into the whole message.
    let base: Int

    /// Parses `bytes` with `mailmime_parse(message, length, &index, &result)` (mailmime_content.h);
    /// returns MAILIMF_NO_ERROR (0) on success and a tree whose root is a MAILMIME_MESSAGE.
    init(bytes: ArraySlice<UInt8>, base: Int = 0) throws(MIMEError) {
        let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(bytes.count, 1))
        bytes.withUnsafeBytes { raw in
            _ = buffer.initialize(from: raw.bindMemory(to: CChar.self))
        }
        var index = 0
        var result: UnsafeMutablePointer<mailmime>?
        let status = mailmime_parse(buffer.baseAddress, bytes.count, &index, &result)
        guard status == Int32(MAILIMF_NO_ERROR), let result else {
            if let result { mailmime_free(result) }
            buffer.deallocate()
            throw MIMEError(.malformedMessage)
        }
        self.buffer = buffer
        self.root = result
        self.base = base
    }

    /// Offset in the whole message of a pointer into the buffer.
    func offset(of pointer: UnsafePointer<CChar>) -> Int {
        base + buffer.baseAddress!.distance(to: UnsafeMutablePointer(mutating: pointer))
    }

    /// The buffer address of a whole-message offset inside this tree's buffer.
    func address(of offset: Int) -> UnsafeMutablePointer<CChar> {
        buffer.baseAddress! + (offset - base)
    }

    deinit {
        mailmime_free(root)
        buffer.deallocate()
    }
}

@available(*, unavailable)
extension EtPanMIMETree: Sendable {}
