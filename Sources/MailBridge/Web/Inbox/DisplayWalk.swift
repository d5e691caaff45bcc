// Security: walks a parsed (decrypted, attacker-written) MIME tree to decide what is shown. Text is decoded
// through Charset's allow-list and HTML converted by HTMLText (both capped); nothing here logs.

/// One depth-first pass over a MIME entity for ``MessageDisplay``: the parts in order, and the octets of each
/// downloadable (withheld) leaf, numbered in the same order.
struct DisplayWalk {
    /// False when only the downloads are wanted (no HTML conversion).
    let convertHTML: Bool
    private(set) var parts: [MessageDisplay.Part] = []
    private(set) var downloads: [[UInt8]] = []

    init(convertHTML: Bool) { self.convertHTML = convertHTML }

    /// - Parameter plainAlternative: the part is an alternative of a `multipart/alternative` that also has a
    ///   text/plain alternative (RFC 2046 §5.1.4), so HTML is not converted, only offered.
    mutating func visit(_ part: MIMEPart, plainAlternative: Bool) {
        switch part.body {
        case .multipart(let children):
            let isAlternative = part.contentType.subtype == "alternative"
            let hasPlain = isAlternative && children.contains { Self.containsPlainText($0) }
            let enclosing = delimiters
            if let boundary = part.contentType.parameters["boundary"] { delimiters.append(Array("--\(boundary)".utf8)) }
            for child in children { visit(child, plainAlternative: plainAlternative || hasPlain) }
            delimiters = enclosing
        case .message(let inner):
            forwarded(inner, raw: Array(part.rawBody))
        case .single(let content):
            leaf(part, content, plainAlternative: plainAlternative)
        }
    }

    /// `--boundary` of every multipart enclosing the current part (at most the parser's nesting depth).
    private var delimiters: [[UInt8]] = []

    private mutating func leaf(_ part: MIMEPart, _ content: [UInt8], plainAlternative: Bool) {
        // RFC 2046 §5.1.1: an enclosing multipart's delimiter line cannot be inside a body part. If one is, the
        // parser misread the structure (e.g. an empty body part between two delimiter lines): the part is offered
        // as a download, never shown, so MIME structure does not reach the counsellor as text.
        if part.contentType.isText, !part.isAttachment, Self.containsDelimiterLine(part.rawBody, delimiters) {
            withhold(part.contentType.mimeType, content)
            return
        }
        if part.isAttachment {
            // The client's own attachments are stored separately by the pipeline (the message's attachment list);
            // those of a forwarded message are listed in its frame.
            guard var frame = frames.popLast() else { return }
            frame.attachments.append(.init(index: downloads.count, name: DisplayText.fileName(part.fileName ?? ""),
                                           mediaType: DisplayText.mediaType(part.contentType.mimeType),
                                           size: content.count))
            frames.append(frame)
            downloads.append(content)
            return
        }
        let type = part.contentType
        if type.isText, type.subtype == "plain", var text = try? part.text(lossy: true) {
            if type.parameters["format"]?.lowercased() == "flowed" {
                text = FlowedText.decode(text, deleteSpace: type.parameters["delsp"]?.lowercased() == "yes")
            }
            parts.append(.text(MessageDisplay.normalize(text)))
            return
        }
        if type.isText, type.subtype == "html", !plainAlternative, convertHTML,
            let html = try? part.text(lossy: true), let text = HTMLText.convert(Array(html.utf8)), !text.isEmpty
        {
            parts.append(.text(MessageDisplay.normalize(text)))
        }
        withhold(type.mimeType, content)
    }

    /// Frames of the forwarded messages being walked (innermost last).
    private var frames: [MessageDisplay.Forwarded] = []

    private mutating func forwarded(_ inner: MIMEPart, raw: [UInt8]) {
        let headers = inner.headers
        func field(_ name: String) -> String {
            DisplayText.line(headers.first(name)?.decodedValue ?? "", limit: 300)
        }
        func subject() -> String { DisplayText.subject(headers.first("Subject")?.decodedValue ?? "") }
        let frame = MessageDisplay.Forwarded(from: field("From"), date: field("Date"), subject: subject(),
                                             parts: [], attachments: [], messageIndex: downloads.count,
                                             messageSize: raw.count)
        downloads.append(raw)
        let outerParts = parts
        parts = []
        frames.append(frame)
        visit(inner, plainAlternative: false)
        var finished = frames.removeLast()
        finished.parts = parts
        parts = outerParts + [.forwarded(finished)]
    }

    private mutating func withhold(_ mediaType: String, _ content: [UInt8]) {
        parts.append(.withheld(index: downloads.count, mediaType: DisplayText.mediaType(mediaType),
                               size: content.count))
        downloads.append(content)
    }

    /// Whether a line of `body` is `delimiter` followed by nothing, `--` and/or transport padding (RFC 2046 §5.1.1).
    static func containsDelimiterLine(_ body: ArraySlice<UInt8>, _ delimiters: [[UInt8]]) -> Bool {
        guard !delimiters.isEmpty else { return false }
        var lineStart = body.startIndex
        while lineStart < body.endIndex {
            let lineEnd = body[lineStart...].firstIndex(of: 0x0A) ?? body.endIndex
            let line = body[lineStart..<lineEnd]
            if line.first == UInt8(ascii: "-") {
                for delimiter in delimiters where line.starts(with: delimiter) {
                    var rest = line.dropFirst(delimiter.count)
                    if rest.starts(with: [0x2D, 0x2D]) { rest = rest.dropFirst(2) }
                    if rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return true }
                }
            }
            lineStart = lineEnd + 1
        }
        return false
    }

    /// A text/plain leaf that is not an attachment, here or below.
    private static func containsPlainText(_ part: MIMEPart) -> Bool {
        switch part.body {
        case .single: part.contentType.mimeType == "text/plain" && !part.isAttachment
        case .multipart(let children): children.contains(where: containsPlainText)
        case .message: false
        }
    }
}
