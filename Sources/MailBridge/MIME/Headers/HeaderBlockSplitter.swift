/// Splits one entity's header block (the octets libetpan reports before the body) into raw fields.
///
/// Done in Swift because libetpan's parsed `mailimf_fields` drop the exact octets (folding, bare CR, NUL) that
/// the identity checks must see. Lines end in CRLF or, leniently, LF; a line starting with SP/HTAB continues
/// the previous field (RFC 5322 §2.2.3). A line without a colon is a ``MIMEError/malformedHeader``.
enum HeaderBlockSplitter {
    static func split(_ block: ArraySlice<UInt8>, limits: MIMELimits) throws(MIMEError) -> MIMEHeaders {
        guard block.count <= limits.maximumHeaderBlockBytes else { throw MIMEError(.headerTooLarge) }
        var fields: [MIMEHeaderField] = []
        var name: String?
        var value: [UInt8] = []
        func finish() {
            if let name { fields.append(MIMEHeaderField(name: name, rawValue: trimLineEnd(value))) }
            name = nil
            value = []
        }
        var lineStart = block.startIndex
        while lineStart < block.endIndex {
            let lineEnd = block[lineStart...].firstIndex(of: 0x0A).map { $0 + 1 } ?? block.endIndex
            let line = block[lineStart..<lineEnd]
            lineStart = lineEnd
            let content = trimLineEnd(Array(line))
            if content.isEmpty { break }  // the empty line before the body
            if content[0] == 0x20 || content[0] == 0x09 {
                guard name != nil else { throw MIMEError(.malformedHeader) }
                value += line
                continue
            }
            finish()
            guard let colon = content.firstIndex(of: UInt8(ascii: ":")) else { throw MIMEError(.malformedHeader) }
            // field-name = 1*ftext (RFC 5322 §3.6.8); obsolete WSP before the colon is tolerated (§4.5).
            var nameBytes = content[..<colon]
            while let last = nameBytes.last, last == 0x20 || last == 0x09 { nameBytes = nameBytes.dropLast() }
            guard !nameBytes.isEmpty, nameBytes.allSatisfy({ $0 >= 33 && $0 <= 126 }) else {
                throw MIMEError(.malformedHeader)
            }
            name = String(decoding: nameBytes, as: UTF8.self)
            value = Array(line[(line.startIndex + colon + 1)...])
            guard fields.count < limits.maximumHeaderFields else { throw MIMEError(.tooManyHeaderFields) }
        }
        finish()
        return MIMEHeaders(fields)
    }

    /// Drops one trailing LF or CRLF.
    private static func trimLineEnd(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        if out.last == 0x0A { out.removeLast() }
        if out.last == 0x0D { out.removeLast() }
        return out
    }
}
