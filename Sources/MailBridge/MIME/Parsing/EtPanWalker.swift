import CEtPan

/// Copies a libetpan `struct mailmime` tree into ``MIMEPart`` values, enforcing part, depth, header and
/// decoded-size limits on the way. Reads C structures only; frees nothing (``EtPanMIMETree`` owns them).
struct EtPanWalker {
    let tree: EtPanMIMETree
    let source: [UInt8]
    let limits: MIMELimits
    private var partCount = 0
    private var decodedBytes = 0
    /// Octets parsed a second time because ``DelimiterLineSplitter`` split a multipart; see
    /// ``maximumReparseFactor``.
    private var reparsedBytes = 0

    /// Re-parsing split body parts may cost at most this many times the message size in total (nested
    /// multiparts with empty parts re-parse their inner parts once per level). Past it libetpan's reading stands.
    static let maximumReparseFactor = 2

    init(tree: EtPanMIMETree, source: [UInt8], limits: MIMELimits) {
        self.tree = tree
        self.source = source
        self.limits = limits
    }

    /// The root from `mailmime_parse` is a MAILMIME_MESSAGE wrapper; its `mm_msg_mime` is the top-level entity.
    mutating func convertRoot(depth: Int = 0) throws(MIMEError) -> MIMEPart {
        let root = tree.root.pointee
        guard Int(root.mm_type) == MAILMIME_MESSAGE, let top = root.mm_data.mm_message.mm_msg_mime else {
            throw MIMEError(.malformedMessage)
        }
        return try convert(top, depth: depth, digestParent: false, encapsulatedIn: bodyRange(of: root))
    }

    /// - Parameter encapsulatedIn: for the entity inside a MAILMIME_MESSAGE, the message's body range. libetpan
    ///   sets such an entity's `mm_mime_start` to the start of the *outer* part (measured), so its own header
    ///   block runs from the outer body start to its own body start.
    private mutating func convert(
        _ pointer: UnsafeMutablePointer<mailmime>, depth: Int, digestParent: Bool, encapsulatedIn: Range<Int>? = nil
    ) throws(MIMEError) -> MIMEPart {
        guard depth <= limits.maximumNestingDepth else { throw MIMEError(.nestingTooDeep) }
        partCount += 1
        guard partCount <= limits.maximumParts else { throw MIMEError(.tooManyParts) }
        let mime = pointer.pointee

        // Every pointer libetpan hands back must lie inside our buffer; anything else is treated as corrupt.
        var entityStart = mime.mm_mime_start.map(tree.offset(of:)) ?? 0
        var entityEnd = entityStart + mime.mm_length
        if let encapsulatedIn {
            entityStart = encapsulatedIn.lowerBound
            entityEnd = encapsulatedIn.upperBound
        }
        guard (0...source.count).contains(entityStart) else { throw MIMEError(.malformedMessage) }
        entityEnd = min(max(entityEnd, entityStart), source.count)
        if let encapsulatedIn, let bodyStart = Self.lineEnd(startingAt: entityStart, in: source) {
            // An encapsulated message with an empty header block (RFC 2046 §5.2.1 allows it): everything is body.
            return try headerlessLeaf(entity: entityStart..<encapsulatedIn.upperBound, bodyStart: bodyStart, depth: depth)
        }
        var bodyRange = try self.bodyRange(of: mime) ?? (entityEnd..<entityEnd)
        bodyRange = min(max(bodyRange.lowerBound, entityStart), entityEnd)..<min(bodyRange.upperBound, entityEnd)
        let headerEnd = max(entityStart, min(bodyRange.lowerBound, entityEnd))
        let headers = try HeaderBlockSplitter.split(source[entityStart..<headerEnd], limits: limits)

        // libetpan fills in a default content type without parameters; RFC 2045 §5.2 defaults apply instead.
        let declaredField = headers.first("Content-Type")
        let declared = declaredField == nil ? nil : mime.mm_content_type
        var contentType =
            declared.map { EtPanFields.contentType($0.pointee, limits: limits) }
            ?? (digestParent ? .defaultDigestPart : .defaultPlain)
        if let declaredField, !Self.namesSubtype(declaredField.value) {
            // `Content-Type: text` (no subtype, invalid by RFC 2045 §5.1): libetpan reads `text/unknown`. Such a
            // field falls back to RFC 2045 §5.2's text/plain, keeping its parameters (a charset), as Python's
            // `email` does; any other type without subtype is an opaque octet stream.
            contentType = contentType.type == "text"
                ? ContentType(type: "text", subtype: "plain", parameters: contentType.parameters)
                : ContentType(type: "application", subtype: "octet-stream", parameters: contentType.parameters)
        }
        let (encoding, disposition) = EtPanFields.mimeFields(mime.mm_mime_fields, limits: limits)

        let body: MIMEBody
        switch Int(mime.mm_type) {
        case MAILMIME_MULTIPLE:
            var children: [MIMEPart] = []
            let isDigest = contentType.subtype == "digest"
            if let ranges = selfSplitRanges(body: bodyRange, contentType: contentType) {
                for range in ranges { children.append(try convertSplitPart(range, depth: depth + 1)) }
                body = .multipart(children)
                break
            }
            var cell = mime.mm_data.mm_multipart.mm_mp_list?.pointee.first
            while let current = cell {
                if let child = current.pointee.data?.assumingMemoryBound(to: mailmime.self) {
                    children.append(try convertChild(child, depth: depth + 1, digestParent: isDigest))
                }
                cell = current.pointee.next
            }
            body = .multipart(children)
        case MAILMIME_MESSAGE:
            if let inner = mime.mm_data.mm_message.mm_msg_mime {
                body = .message(try convert(inner, depth: depth + 1, digestParent: false, encapsulatedIn: bodyRange))
            } else {
                body = .single(decoded: [])
            }
        default:
            let decoded = try decode(bodyRange, encoding: encoding)
            decodedBytes += decoded.count
            guard decodedBytes <= limits.maximumDecodedBytes else { throw MIMEError(.decodedSizeExceeded) }
            body = .single(decoded: decoded)
        }
        return MIMEPart(
            headers: headers, contentType: contentType, transferEncoding: encoding, disposition: disposition,
            body: body, depth: depth, source: source, entityRange: entityStart..<entityEnd, bodyRange: bodyRange)
    }

    /// Whether a Content-Type value's media type (before any `;`) has a `/` (RFC 2045 §5.1 `type "/" subtype`).
    static func namesSubtype(_ value: String) -> Bool {
        let mediaType = value.prefix { $0 != ";" }
        return mediaType.contains("/")
    }

    /// A child of a multipart. libetpan skips an empty header block (a boundary line directly followed by an
    /// empty line) and then reads the first body lines as header fields (measured). We detect that case from the
    /// octets before libetpan's part start and apply RFC 2045/2046 defaults instead: `text/plain` in general,
    /// `message/rfc822` in a digest (RFC 2046 §5.1.5), whose inner message libetpan did parse correctly.
    private mutating func convertChild(
        _ pointer: UnsafeMutablePointer<mailmime>, depth: Int, digestParent: Bool
    ) throws(MIMEError) -> MIMEPart {
        let mime = pointer.pointee
        let start = mime.mm_mime_start.map(tree.offset(of:)) ?? 0
        guard (0...source.count).contains(start),
            let (entityStart, bodyStart) = Self.emptyHeaderBlock(endingAt: start, in: source)
        else { return try convert(pointer, depth: depth, digestParent: digestParent) }
        let entityEnd = min(start + mime.mm_length, source.count)
        guard depth <= limits.maximumNestingDepth else { throw MIMEError(.nestingTooDeep) }
        partCount += 1
        guard partCount <= limits.maximumParts else { throw MIMEError(.tooManyParts) }
        guard digestParent else {
            return try headerlessLeaf(entity: entityStart..<entityEnd, bodyStart: bodyStart, depth: depth)
        }
        let innerRange = bodyStart..<max(bodyStart, entityEnd)
        let innerPointer = Int(mime.mm_type) == MAILMIME_MESSAGE ? mime.mm_data.mm_message.mm_msg_mime : pointer
        let inner: MIMEPart
        if let innerPointer {
            inner = try convert(innerPointer, depth: depth + 1, digestParent: false, encapsulatedIn: innerRange)
        } else {
            inner = try headerlessLeaf(entity: innerRange, bodyStart: innerRange.lowerBound, depth: depth + 1)
        }
        return MIMEPart(
            headers: MIMEHeaders([]), contentType: .defaultDigestPart, transferEncoding: .sevenBit, disposition: nil,
            body: .message(inner), depth: depth, source: source, entityRange: entityStart..<entityEnd,
            bodyRange: innerRange)
    }

    /// The body parts of a multipart that ``DelimiterLineSplitter`` must split instead of libetpan (two delimiter
    /// lines in a row), if the re-parse budget allows. Digests keep libetpan's split: their
    /// parts default to message/rfc822 (RFC 2046 §5.1.5), which a part parsed on its own would not know.
    private mutating func selfSplitRanges(body: Range<Int>, contentType: ContentType) -> [Range<Int>]? {
        guard contentType.subtype != "digest", let boundary = contentType.parameters["boundary"],
            let ranges = DelimiterLineSplitter.partsIfConsecutiveDelimiters(
                in: source, body: body, boundary: boundary, maximumParts: limits.maximumParts)
        else { return nil }
        let octets = ranges.reduce(0) { $0 + $1.count }
        guard reparsedBytes + octets <= Self.maximumReparseFactor * max(source.count, 1) else { return nil }
        reparsedBytes += octets
        return ranges
    }

    /// One body part found by ``DelimiterLineSplitter``, parsed on its own by libetpan (as an entity whose header
    /// block starts at `range`), under the same limits and counters as the rest of the message.
    private mutating func convertSplitPart(_ range: Range<Int>, depth: Int) throws(MIMEError) -> MIMEPart {
        guard !range.isEmpty else {
            // `--b CRLF CRLF --b`: no header fields and an empty body, so RFC 2045 §5.2 text/plain.
            guard depth <= limits.maximumNestingDepth else { throw MIMEError(.nestingTooDeep) }
            partCount += 1
            guard partCount <= limits.maximumParts else { throw MIMEError(.tooManyParts) }
            return try headerlessLeaf(entity: range, bodyStart: range.lowerBound, depth: depth)
        }
        let subtree = try EtPanMIMETree(bytes: source[range], base: range.lowerBound)
        var walker = EtPanWalker(tree: subtree, source: source, limits: limits)
        walker.partCount = partCount
        walker.decodedBytes = decodedBytes
        walker.reparsedBytes = reparsedBytes
        let part = try walker.convertRoot(depth: depth)
        partCount = walker.partCount
        decodedBytes = walker.decodedBytes
        reparsedBytes = walker.reparsedBytes
        return part
    }

    /// A `text/plain; charset=us-ascii` 7bit leaf without header fields (RFC 2045 §5.2 defaults).
    private mutating func headerlessLeaf(entity: Range<Int>, bodyStart: Int, depth: Int) throws(MIMEError) -> MIMEPart {
        let bodyRange = min(bodyStart, entity.upperBound)..<entity.upperBound
        decodedBytes += bodyRange.count
        guard decodedBytes <= limits.maximumDecodedBytes else { throw MIMEError(.decodedSizeExceeded) }
        return MIMEPart(
            headers: MIMEHeaders([]), contentType: .defaultPlain, transferEncoding: .sevenBit, disposition: nil,
            body: .single(decoded: Array(source[bodyRange])), depth: depth, source: source, entityRange: entity,
            bodyRange: bodyRange)
    }

    /// If the octets before `start` are one or more empty lines preceded by a boundary line (`--…`), returns
    /// where the entity really starts (the first empty line) and where its body starts (after that line).
    static func emptyHeaderBlock(endingAt start: Int, in source: [UInt8]) -> (entityStart: Int, bodyStart: Int)? {
        var position = start
        var firstEmptyLine: Int?
        while position >= 1, source[position - 1] == 0x0A {
            var lineStart = position - 1
            if lineStart >= 1, source[lineStart - 1] == 0x0D { lineStart -= 1 }
            guard lineStart >= 1, source[lineStart - 1] == 0x0A else { break }  // the line is not empty
            firstEmptyLine = lineStart
            position = lineStart
        }
        guard let firstEmptyLine else { return nil }
        // The line ending at `position` must be the boundary delimiter line.
        var lineStart = position - 1
        while lineStart > 0, source[lineStart - 1] != 0x0A { lineStart -= 1 }
        guard position - lineStart >= 3, source[lineStart] == UInt8(ascii: "-"), source[lineStart + 1] == UInt8(ascii: "-")
        else { return nil }
        guard let bodyStart = lineEnd(startingAt: firstEmptyLine, in: source) else { return nil }
        return (firstEmptyLine, bodyStart)
    }

    /// If an empty line (CRLF or LF) starts at `index`, the index after it.
    static func lineEnd(startingAt index: Int, in source: [UInt8]) -> Int? {
        if index < source.count, source[index] == 0x0A { return index + 1 }
        if index + 1 < source.count, source[index] == 0x0D, source[index + 1] == 0x0A { return index + 2 }
        return nil
    }

    /// The body octets libetpan found (`mm_body`, a MAILMIME_DATA_TEXT pointing into our buffer).
    private func bodyRange(of mime: mailmime) throws(MIMEError) -> Range<Int>? {
        guard let data = mime.mm_body, Int(data.pointee.dt_type) == MAILMIME_DATA_TEXT,
            let start = data.pointee.dt_data.dt_text.dt_data
        else { return nil }
        let offset = tree.offset(of: start)
        guard (0...source.count).contains(offset) else { throw MIMEError(.malformedMessage) }
        return offset..<min(offset + data.pointee.dt_data.dt_text.dt_length, source.count)
    }

    /// Transfer decoding (RFC 2045 §6). base64 and quoted-printable go through libetpan's
    /// `mailmime_part_parse(message, length, &index, encoding, &result, &resultLength)`; the result "must be
    /// freed with mmap_string_unref()" (mailmime_content.h). Identity encodings are copied.
    private func decode(_ range: Range<Int>, encoding: TransferEncoding) throws(MIMEError) -> [UInt8] {
        let mechanism: Int32
        switch encoding {
        case .base64: mechanism = Int32(MAILMIME_MECHANISM_BASE64)
        case .quotedPrintable: mechanism = Int32(MAILMIME_MECHANISM_QUOTED_PRINTABLE)
        default: return Array(source[range])
        }
        guard !range.isEmpty else { return [] }
        let start = tree.address(of: range.lowerBound)
        var index = 0
        var result: UnsafeMutablePointer<CChar>?
        var length = 0
        let status = mailmime_part_parse(start, range.count, &index, mechanism, &result, &length)
        guard status == Int32(MAILIMF_NO_ERROR), let result else { throw MIMEError(.malformedMessage) }
        defer { mmap_string_unref(result) }
        return result.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }
}
