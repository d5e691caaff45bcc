/// ``MessageDisplay`` as one plain-text block, for the API's `text` and `mailbridge thread show`.
extension MessageDisplay {
    /// Texts separated by a blank line; a forwarded message framed by marker lines, with its From, Date and
    /// Subject first. `withheld` writes a line for a part that is not shown (nil: leave it out).
    static func plainText(_ parts: [Part], withheld: ((_ mediaType: String, _ size: Int) -> String)? = nil) -> String {
        var blocks: [String] = []
        for part in parts {
            switch part {
            case .text(let text): blocks.append(text)
            case .withheld(_, let mediaType, let size): if let withheld { blocks.append(withheld(mediaType, size)) }
            case .forwarded(let forwarded):
                var lines = ["---------- Forwarded message ----------"]
                if !forwarded.from.isEmpty { lines.append("From: \(forwarded.from)") }
                if !forwarded.date.isEmpty { lines.append("Date: \(forwarded.date)") }
                if !forwarded.subject.isEmpty { lines.append("Subject: \(forwarded.subject)") }
                lines += forwarded.attachments.map { "Attachment: \($0.name) (\($0.mediaType), \($0.size) bytes)" }
                let inner = plainText(forwarded.parts, withheld: withheld)
                blocks.append(lines.joined(separator: "\n") + (inner.isEmpty ? "" : "\n\n" + inner)
                              + "\n---------- End of forwarded message ----------")
            }
        }
        return blocks.joined(separator: "\n\n")
    }

    /// Every withheld part and forwarded download, depth first: (index, media type, size).
    static func downloads(_ parts: [Part]) -> [(index: Int, mediaType: String, size: Int)] {
        parts.flatMap { part -> [(index: Int, mediaType: String, size: Int)] in
            switch part {
            case .text: []
            case .withheld(let index, let mediaType, let size): [(index, mediaType, size)]
            case .forwarded(let forwarded):
                [(forwarded.messageIndex, "message/rfc822", forwarded.messageSize)]
                    + forwarded.attachments.map { ($0.index, $0.mediaType, $0.size) } + downloads(forwarded.parts)
            }
        }
    }
}
