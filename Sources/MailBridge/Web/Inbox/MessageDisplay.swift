// Security: turns a stored (decrypted, attacker-written) message body into what the inbox shows. Only text/plain
// leaves become display text, and they are shown escaped (HTML.swift) as plain text; every other leaf that is not
// an attachment (text/html, images, calendar parts …) is withheld and offered only as a download with
// `application/octet-stream`. Parsing uses MIMEParser with its limits; a body that does not parse is withheld
// as a whole. Nothing here logs or throws content.

import ThreadStore

/// What the inbox shows of one message body.
struct MessageDisplay: Sendable {
    /// One piece of the body, in order.
    enum Part: Sendable, Hashable {
        /// Plain text to show (escaped by the page).
        case text(String)
        /// A part that is not shown; downloadable by `index` (see ``withheldContent(_:index:)``).
        case withheld(index: Int, mediaType: String, size: Int)
    }

    let parts: [Part]

    /// Parses `body` (a decrypted MIME entity, or bare text from inline PGP).
    init(body: [UInt8]) {
        guard let leaves = Self.leaves(of: body) else {
            // Bare text (inline PGP) or a body without its own Content-Type.
            parts = body.isEmpty ? [] : [.text(Self.normalize(String(decoding: body, as: UTF8.self)))]
            return
        }
        parts = leaves.enumerated().compactMap { index, leaf in
            switch leaf {
            case .shown(let text): .text(text)
            case .withheld(let mediaType, let content): .withheld(index: index, mediaType: mediaType,
                                                                  size: content.count)
            case .attachment: nil
            }
        }
    }

    /// The octets of the withheld part `index` of `body`, or nil if there is none with that index.
    static func withheldContent(_ body: [UInt8], index: Int) -> [UInt8]? {
        guard let leaves = leaves(of: body) else { return nil }
        guard leaves.indices.contains(index), case .withheld(_, let content) = leaves[index] else { return nil }
        return content
    }

    private enum Leaf {
        case shown(String)
        case withheld(mediaType: String, content: [UInt8])
        /// Stored separately by the pipeline (see the message's attachments).
        case attachment
    }

    /// The leaf parts of a MIME body in order, or nil for bare text. A body that declares a Content-Type but does
    /// not parse is one withheld leaf.
    private static func leaves(of body: [UInt8]) -> [Leaf]? {
        let headerEnd = body.firstRange(of: Array("\r\n\r\n".utf8))?.lowerBound
            ?? body.firstRange(of: Array("\n\n".utf8))?.lowerBound ?? body.count
        let header = String(decoding: body[..<headerEnd], as: UTF8.self).lowercased()
        guard header.hasPrefix("content-type:") || header.contains("\ncontent-type:") else { return nil }
        guard let message = try? MIMEParser().parse(body) else {
            return [.withheld(mediaType: "application/octet-stream", content: body)]
        }
        return message.allParts.compactMap { part -> Leaf? in
            guard let content = part.decodedBody else { return nil }  // containers
            if part.isAttachment { return .attachment }
            if part.contentType.mimeType == "text/plain", let text = try? part.text(lossy: true) {
                return .shown(normalize(text))
            }
            return .withheld(mediaType: part.contentType.mimeType, content: content)
        }
    }

    /// CRLF → LF; other control characters except TAB become U+FFFD (they have no business in displayed text).
    static func normalize(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        var previousCR = false
        for scalar in text.unicodeScalars {
            defer { previousCR = scalar == "\r" }
            switch scalar.value {
            case 0x0D: result.unicodeScalars.append("\n")
            case 0x0A: if !previousCR { result.unicodeScalars.append("\n") }
            case 0x09: result.unicodeScalars.append(scalar)
            case 0x00..<0x20, 0x7F..<0xA0: result.unicodeScalars.append("\u{FFFD}")
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// A file name fit for display and headers: bidirectional overrides and other invisible formatting characters
    /// (Unicode category Cf, e.g. U+202E, which can disguise `exe` as `pdf`) and controls become U+FFFD; at most
    /// 200 characters (``DisplayText/line(_:limit:)``).
    static func safeFileName(_ name: String) -> String {
        let result = DisplayText.line(name, limit: 200)
        return result.isEmpty ? "attachment" : result
    }
}
