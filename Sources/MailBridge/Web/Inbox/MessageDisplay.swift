// Security: turns a stored (decrypted, attacker-written) message body into what the inbox shows. text/plain
// leaves, and text/html leaves without a plain alternative (converted to plain text by HTMLText, nothing
// fetched), become display text, shown escaped (HTML.swift) as plain text; every other leaf that is not an
// attachment (images, calendar parts, the HTML original …) is withheld and offered only as a download with
// `application/octet-stream`. Whether the body is a MIME entity is decided by DecryptedEntity (MIMEParser with
// its limits); an entity that does not parse is withheld as a whole. Nothing here logs or throws content.

import ThreadStore

/// What the inbox shows of one message body.
struct MessageDisplay: Sendable {
    /// One piece of the body, in order.
    enum Part: Sendable, Hashable {
        /// Plain text to show (escaped by the page).
        case text(String)
        /// A part that is not shown; downloadable by `index` (see ``withheldContent(_:index:)``). An HTML part
        /// shown as converted text (no plain alternative) is also offered here as the original.
        case withheld(index: Int, mediaType: String, size: Int)
        /// A forwarded message (`message/rfc822`, RFC 2046 §5.2.1): its own headers, parts and attachments.
        case forwarded(Forwarded)
    }

    /// A forwarded message as shown inside the client's message. Header values are decoded and cleaned
    /// (``DisplayText/line(_:limit:)``); the page escapes them.
    struct Forwarded: Sendable, Hashable {
        var from: String
        var date: String
        var subject: String
        var parts: [Part]
        /// Its attachments, downloadable like withheld parts (they are not the client's own attachments).
        var attachments: [Attachment]
        /// The whole forwarded message, downloadable as `.eml`.
        var messageIndex: Int
        var messageSize: Int

        struct Attachment: Sendable, Hashable {
            var index: Int
            var name: String
            var mediaType: String
            var size: Int
        }
    }

    let parts: [Part]

    /// Parses `body` (a decrypted MIME entity, or bare text from inline PGP).
    init(body: [UInt8]) {
        switch DecryptedEntity(body) {
        case .bareText:
            parts = body.isEmpty ? [] : [.text(Self.normalize(String(decoding: body, as: UTF8.self)))]
        case .unparseable:
            parts = [.withheld(index: 0, mediaType: "application/octet-stream", size: body.count)]
        case .entity(let message):
            var walk = DisplayWalk(convertHTML: true)
            walk.visit(message.root, plainAlternative: false)
            parts = walk.parts
        }
    }

    /// The octets of the withheld part `index` of `body`, or nil if there is none with that index.
    static func withheldContent(_ body: [UInt8], index: Int) -> [UInt8]? {
        let downloads: [[UInt8]]
        switch DecryptedEntity(body) {
        case .bareText: return nil
        case .unparseable: downloads = [body]
        case .entity(let message):
            var walk = DisplayWalk(convertHTML: false)
            walk.visit(message.root, plainAlternative: false)
            downloads = walk.downloads
        }
        return downloads.indices.contains(index) ? downloads[index] : nil
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
    /// 200 characters (``DisplayText/fileName(_:)``).
    static func safeFileName(_ name: String) -> String { DisplayText.fileName(name) }
}
