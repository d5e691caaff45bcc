/// Recognises delivery status notifications and other automatic mail coming back in, so the pipeline records
/// them and never answers them (RFC 3834 §2, RFC 5321 §4.5.5: no replies to the null reverse path; RFC 6522,
/// RFC 3464: multipart/report; report-type=delivery-status).
///
/// Works on the raw message text, so it depends on no MIME types: a small header splitter unfolds fields
/// (RFC 5322 §2.2.3) and reads the Content-Type parameters (RFC 2045 §5.1).
///
/// Security: the input is an untrusted message. Scanning is bounded (``maximumScannedOctets``, field and part
/// counts); nothing of the input is logged, and ``Classification/description`` hides the Message-ID.
///
/// ```swift
/// switch BounceRecognizer.classify(rawMessage: bytes, reversePath: envelope.reversePath) {
/// case .deliveryStatus(let originalMessageID): recordBounce(originalMessageID)   // never auto-reply
/// case .automatic: recordWithoutReply()
/// case .ordinary: continueNormally()
/// }
/// ```
public enum BounceRecognizer {
    /// What kind of mail this is.
    public enum Classification: Hashable, Sendable, CustomStringConvertible {
        /// A DSN (RFC 3464); the Message-ID of the message it reports on, if the report includes its header.
        case deliveryStatus(originalMessageID: String?)
        /// Other automatic mail: null reverse path, `Auto-Submitted` other than "no" (RFC 3834 §5), or another
        /// report type such as an MDN (RFC 8098). Recorded, never answered.
        case automatic
        case ordinary

        /// Never answer this automatically.
        public var suppressesAutoReply: Bool { self != .ordinary }

        public var description: String {
            switch self {
            case .deliveryStatus(let id): "deliveryStatus(originalMessageID: \(id == nil ? "none" : "<redacted>"))"
            case .automatic: "automatic"
            case .ordinary: "ordinary"
            }
        }
    }

    /// Octets of the message looked at; a DSN's parts come early, so a cap loses nothing real.
    public static let maximumScannedOctets = 256 * 1024
    static let maximumParts = 16

    /// Classifies a message from its raw RFC 5322 bytes and the SMTP reverse-path it came with.
    public static func classify(rawMessage: some Collection<UInt8>, reversePath: ReversePath?) -> Classification {
        let bytes = Array(rawMessage.prefix(maximumScannedOctets))[...]
        let (header, body) = HeaderFields.split(bytes)
        let contentType = header.first("content-type").map(ContentType.init) ?? ContentType("text/plain")

        if contentType.mediaType == "multipart/report",
            contentType.parameters["report-type"]?.lowercased() == "delivery-status"
        {
            return .deliveryStatus(originalMessageID: originalMessageID(body: body, contentType: contentType))
        }
        if reversePath == .null || contentType.mediaType == "multipart/report" {
            return .automatic
        }
        if let autoSubmitted = header.first("auto-submitted"),
            autoSubmitted.trimmingWhitespace().lowercased().prefix(while: { $0 != ";" && $0 != " " }) != "no"
        {
            return .automatic
        }
        return .ordinary
    }

    /// The Message-ID from the returned message or its headers (RFC 6522 §3: optional third part,
    /// message/rfc822 or text/rfc822-headers; RFC 6533 §6: message/global(-headers)).
    static func originalMessageID(body: ArraySlice<UInt8>, contentType: ContentType) -> String? {
        guard let boundary = contentType.parameters["boundary"], !boundary.isEmpty, boundary.utf8.count <= 70 else {
            return nil
        }
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        // RFC 2046 §5.1.1: delimiter lines start with "--boundary"; "--boundary--" closes.
        for line in HeaderFields.lines(body) {
            guard line.content.starts(with: delimiter) else { continue }
            if let start = partStart { parts.append(body[start..<line.start]) }
            let closes = line.content.dropFirst(delimiter.count).starts(with: [45, 45])
            if closes || parts.count >= maximumParts { break }
            partStart = line.next
        }
        let embedded: Set<String> = [
            "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers",
        ]
        for part in parts {
            let (partHeader, partBody) = HeaderFields.split(part)
            let partType = partHeader.first("content-type").map(ContentType.init) ?? ContentType("text/plain")
            guard embedded.contains(partType.mediaType) else { continue }
            let (returned, _) = HeaderFields.split(partBody)
            if let id = returned.first("message-id")?.trimmingWhitespace(), id.hasPrefix("<"), id.hasSuffix(">"),
                id.utf8.count <= 998, !id.contains(where: { $0.isWhitespace })
            {
                return id
            }
        }
        return nil
    }
}

extension BounceRecognizer {
    /// Header fields of one header section, unfolded (RFC 5322 §2.2.3). Names are lower-cased.
    struct HeaderFields {
        static let maximumFields = 500
        var fields: [(name: String, value: String)] = []

        func first(_ name: String) -> String? {
            fields.first { $0.name == name }?.value
        }

        /// A line without its CRLF (or LF), where it starts, and where the next line starts.
        struct Line {
            var content: ArraySlice<UInt8>
            var start: Int
            var next: Int
        }

        static func lines(_ bytes: ArraySlice<UInt8>) -> some Sequence<Line> {
            var index = bytes.startIndex
            return AnySequence {
                AnyIterator {
                    guard index < bytes.endIndex else { return nil }
                    let end = bytes[index...].firstIndex(of: 10) ?? bytes.endIndex
                    var content = bytes[index..<end]
                    if content.last == 13 { content = content.dropLast() }
                    let line = Line(content: content, start: index, next: min(end + 1, bytes.endIndex))
                    index = line.next
                    return line
                }
            }
        }

        /// Splits at the first empty line into header fields and body.
        static func split(_ bytes: ArraySlice<UInt8>) -> (HeaderFields, ArraySlice<UInt8>) {
            var header = HeaderFields()
            var unfolded: [[UInt8]] = []
            var bodyStart = bytes.endIndex
            for line in lines(bytes) {
                if line.content.isEmpty {
                    bodyStart = line.next
                    break
                }
                if let first = line.content.first, first == 32 || first == 9, !unfolded.isEmpty {
                    unfolded[unfolded.count - 1] += line.content  // unfold: drop only the line break
                } else if unfolded.count < maximumFields {
                    unfolded.append(Array(line.content))
                }
            }
            for line in unfolded {
                guard let colon = line.firstIndex(of: 58) else { continue }
                let name = String(decoding: line[..<colon], as: UTF8.self).trimmingWhitespace().lowercased()
                header.fields.append((name, String(decoding: line[(colon + 1)...], as: UTF8.self)))
            }
            return (header, bytes[bodyStart...])
        }
    }

    /// `type/subtype; name=value; name="quoted value"` (RFC 2045 §5.1), names and media type lower-cased.
    struct ContentType {
        var mediaType: String
        var parameters: [String: String] = [:]

        init(_ value: String) {
            var pieces: [String] = []
            var current = ""
            var quoted = false
            var escaped = false
            for character in value {
                if escaped { current.append(character); escaped = false; continue }
                if quoted && character == "\\" { escaped = true; continue }
                if character == "\"" { quoted.toggle(); continue }
                if character == ";" && !quoted { pieces.append(current); current = ""; continue }
                current.append(character)
            }
            pieces.append(current)
            mediaType = pieces[0].trimmingWhitespace().lowercased()
            for piece in pieces.dropFirst() {
                guard let equals = piece.firstIndex(of: "=") else { continue }
                let name = piece[..<equals].trimmingWhitespace().lowercased()
                parameters[name] = piece[piece.index(after: equals)...].trimmingWhitespace()
            }
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
