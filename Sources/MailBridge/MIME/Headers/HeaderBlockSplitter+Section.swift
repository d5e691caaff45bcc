extension HeaderBlockSplitter {
    /// The header section at the start of a raw message or body part, read leniently, and where its body starts
    /// (after the first empty line; the end of `bytes` if there is none). For scanners of untrusted raw mail that
    /// must never fail (the bounce recogniser, the Return-Path of fetched mail): a line without a colon or with an
    /// invalid field name is skipped, continuation lines join their field (``MIMEHeaderField/rawValue`` keeps the
    /// folding, ``MIMEHeaderField/value`` unfolds), and at most `maximumFields` fields are kept.
    ///
    /// The strict ``split(_:limits:)`` is for the MIME parser, which must reject what this one skips.
    static func section(of bytes: ArraySlice<UInt8>, maximumFields: Int = 500)
        -> (headers: MIMEHeaders, body: ArraySlice<UInt8>)
    {
        var fields: [MIMEHeaderField] = []
        var name: String?
        var value: [UInt8] = []
        func finish() {
            if let name, fields.count < maximumFields { fields.append(MIMEHeaderField(name: name, rawValue: value)) }
            name = nil
            value = []
        }
        var lineStart = bytes.startIndex
        var bodyStart = bytes.endIndex
        while lineStart < bytes.endIndex {
            let newline = bytes[lineStart...].firstIndex(of: 0x0A)
            let lineEnd = newline.map { $0 + 1 } ?? bytes.endIndex
            var content = bytes[lineStart..<(newline ?? bytes.endIndex)]
            if content.last == 0x0D { content = content.dropLast() }
            defer { lineStart = lineEnd }
            if content.isEmpty {
                bodyStart = lineEnd
                break
            }
            if content.first == 0x20 || content.first == 0x09 {
                // A continuation keeps its line break in the raw value, as the strict splitter does.
                if name != nil { value += [0x0D, 0x0A] + content }
                continue
            }
            finish()
            guard let colon = content.firstIndex(of: UInt8(ascii: ":")) else { continue }
            var nameBytes = content[..<colon]
            while let last = nameBytes.last, last == 0x20 || last == 0x09 { nameBytes = nameBytes.dropLast() }
            guard !nameBytes.isEmpty, nameBytes.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { continue }
            name = String(decoding: nameBytes, as: UTF8.self)
            value = Array(content[(colon + 1)...])
        }
        finish()
        return (MIMEHeaders(fields), bytes[bodyStart...])
    }
}
