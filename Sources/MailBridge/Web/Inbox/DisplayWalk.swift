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
            for child in children { visit(child, plainAlternative: plainAlternative || hasPlain) }
        case .message(let inner):
            forwarded(inner, raw: Array(part.rawBody))
        case .single(let content):
            leaf(part, content, plainAlternative: plainAlternative)
        }
    }

    private mutating func leaf(_ part: MIMEPart, _ content: [UInt8], plainAlternative: Bool) {
        if part.isAttachment {
            // The client's own attachments are stored separately by the pipeline (the message's attachment list);
            // those of a forwarded message are listed in its frame.
            guard var frame = frames.popLast() else { return }
            frame.attachments.append(.init(index: downloads.count, name: part.fileName ?? "attachment",
                                           mediaType: part.contentType.mimeType, size: content.count))
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
        let frame = MessageDisplay.Forwarded(from: field("From"), date: field("Date"), subject: field("Subject"),
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
        parts.append(.withheld(index: downloads.count, mediaType: mediaType, size: content.count))
        downloads.append(content)
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
