// Security: scans attacker-controlled multipart bodies. One linear pass over octets already inside the message
// (bounded by MIMELimits.maximumMessageBytes); at most `maximumParts + 1` ranges are returned, so a body of many
// delimiter lines cannot grow the result beyond what the walker's part limit rejects anyway. Nothing is logged.

/// Splits a multipart body on its delimiter lines (RFC 2046 §5.1.1) when libetpan would misread it.
///
/// libetpan looks for the next delimiter as `CRLF "--" boundary` *after* the line break that ends a delimiter line,
/// so a delimiter line that directly follows another one (an empty body part: `--b CRLF --b CRLF`) is not seen,
/// and every following part up to the next delimiter with text in front of it is read as one part. Python's
/// `email` package, Thunderbird and most readers take every line that is a delimiter as one. This finds those
/// lines itself:
/// - a delimiter line starts at the beginning of a line with `"--" boundary`, optionally `"--"` (the close
///   delimiter), then only transport padding (SP / HTAB) up to the line end (CRLF, or leniently LF);
/// - the line break before a delimiter line belongs to the delimiter, not to the part before it;
/// - the preamble before the first delimiter and the epilogue after the close delimiter are not parts;
/// - two delimiter lines in a row enclose no part at all (the line break between them belongs to both ends);
///   `--b CRLF CRLF --b` is a part with an empty header block and an empty body (text/plain, RFC 2045 §5.2);
/// - without a close delimiter the last part runs to the end of the body (as Python reads it).
enum DelimiterLineSplitter {
    /// The body-part ranges (absolute offsets into `source`) if `body` holds a delimiter line directly followed by
    /// another delimiter line, otherwise nil: libetpan's split is used then. A body with more
    /// than `maximumParts` parts returns `maximumParts + 1` ranges (the caller's part limit rejects it).
    static func partsIfConsecutiveDelimiters(
        in source: [UInt8], body: Range<Int>, boundary: String, maximumParts: Int
    ) -> [Range<Int>]? {
        let dashBoundary = Array("--\(boundary)".utf8)
        guard body.upperBound <= source.count, !boundary.isEmpty else { return nil }
        var parts: [Range<Int>] = []
        var partStart: Int?  // where the current part's octets start (after a delimiter line)
        var sawEmptyPart = false
        var lineStart = body.lowerBound
        while lineStart < body.upperBound {
            var lineEnd = lineStart
            while lineEnd < body.upperBound, source[lineEnd] != 0x0A { lineEnd += 1 }
            let nextLine = min(lineEnd + 1, body.upperBound)
            var contentEnd = lineEnd
            if contentEnd > lineStart, source[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            if let kind = delimiterKind(source, lineStart..<contentEnd, dashBoundary) {
                if let start = partStart {
                    // The line break before this delimiter line belongs to it (RFC 2046 §5.1.1).
                    var end = lineStart
                    if end > start, source[end - 1] == 0x0A { end -= 1 }
                    if end > start, source[end - 1] == 0x0D { end -= 1 }
                    if start == lineStart {
                        // Two delimiter lines in a row: the line break between them ends the first and starts
                        // the second, so no octet is left for a body part (RFC 2046 §5.1.1 grammar); Python's
                        // `email` reads no part there either.
                        sawEmptyPart = true
                    } else {
                        parts.append(start..<max(start, end))
                        if parts.count > maximumParts { return parts }
                    }
                }
                if kind == .close {
                    partStart = nil
                    break
                }
                partStart = nextLine
            }
            lineStart = nextLine
        }
        if let start = partStart, start < body.upperBound {
            parts.append(start..<body.upperBound)  // no close delimiter: the last part runs to the end
        }
        return sawEmptyPart ? parts : nil
    }

    enum DelimiterKind { case delimiter, close }

    /// Whether `line` (without its line break) is `"--" boundary ["--"] *(SP / HTAB)`.
    static func delimiterKind(_ source: [UInt8], _ line: Range<Int>, _ dashBoundary: [UInt8]) -> DelimiterKind? {
        guard line.count >= dashBoundary.count,
            source[line.lowerBound..<line.lowerBound + dashBoundary.count].elementsEqual(dashBoundary)
        else { return nil }
        var index = line.lowerBound + dashBoundary.count
        var kind = DelimiterKind.delimiter
        if index + 1 < line.upperBound, source[index] == UInt8(ascii: "-"), source[index + 1] == UInt8(ascii: "-") {
            kind = .close
            index += 2
        }
        guard source[index..<line.upperBound].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return nil }
        return kind
    }
}
