// Security: rewrites one header field of attacker-controlled MIME before libetpan parses it again. Bounded: at most
// `maximumRewrites` rewrites per message (each a full re-parse under the same MIMELimits), each inserting one
// validated boundary of at most 70 octets; nothing is logged.

/// `boundary*=` in RFC 2231 form (`boundary*=us-ascii''abc`, or `boundary*0=`/`boundary*1=` sections): libetpan
/// splits a multipart only on a parameter literally named `boundary`, so such a multipart reaches us as one leaf
/// while our own parameter decoder (``ParameterDecoder``) has the boundary. This appends the decoded value as a
/// plain `boundary="…"` to that part's Content-Type field and lets the parser start again.
enum BoundaryParameterRewrite {
    static let maximumRewrites = 8

    /// The source with one more Content-Type field made splittable, or nil if `message` has no multipart that
    /// libetpan left unsplit although its decoded parameters name a valid boundary.
    static func rewritten(_ message: MIMEMessage, source: [UInt8]) -> [UInt8]? {
        guard let part = message.root.allParts.first(where: needsRewrite),
            let boundary = part.contentType.parameters["boundary"]
        else { return nil }
        let headerBlock = part.rawBytes.startIndex..<part.rawBody.startIndex
        guard let insertion = contentTypeFieldEnd(in: source, headerBlock) else { return nil }
        var result = source
        result.insert(contentsOf: Array("; boundary=\"\(boundary)\"".utf8), at: insertion)
        return result
    }

    /// A multipart that libetpan read as a leaf, with a boundary that is valid (RFC 2046 §5.1.1: 1 to 70 bchars,
    /// not ending in a space) and that the raw field does not carry as a plain `boundary=` parameter.
    private static func needsRewrite(_ part: MIMEPart) -> Bool {
        guard part.contentType.isMultipart, case .single = part.body,
            let boundary = part.contentType.parameters["boundary"], (1...70).contains(boundary.utf8.count),
            boundary.utf8.last != UInt8(ascii: " "),
            boundary.utf8.allSatisfy(isBoundaryCharacter),
            let field = part.headers.first("Content-Type")?.value.lowercased()
        else { return false }
        return field.contains("boundary*")
    }

    /// RFC 2046 §5.1.1 `bchars`: DIGIT / ALPHA / "'()+_,-./:=?" and space.
    private static func isBoundaryCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        default:
            Array("'()+_,-./:=? ".utf8).contains(byte)
        }
    }

    /// The offset of the line break that ends the (possibly folded) Content-Type field in `range`.
    private static func contentTypeFieldEnd(in source: [UInt8], _ range: Range<Int>) -> Int? {
        let name = Array("content-type:".utf8)
        var lineStart = range.lowerBound
        var inField = false
        while lineStart < range.upperBound {
            var lineEnd = lineStart
            while lineEnd < range.upperBound, source[lineEnd] != 0x0A { lineEnd += 1 }
            let breakStart = lineEnd > lineStart && source[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd
            let first = source[lineStart]
            if inField, first != 0x20, first != 0x09 { return lineStart - (lineStart >= 2 && source[lineStart - 2] == 0x0D ? 2 : 1) }
            if !inField, lineStart + name.count <= range.upperBound,
                zip(source[lineStart..<lineStart + name.count], name).allSatisfy({ $0 | 0x20 == $1 | 0x20 })
            {
                inField = true
            }
            if inField, lineEnd >= range.upperBound { return breakStart }
            lineStart = lineEnd + 1
        }
        return nil
    }
}
