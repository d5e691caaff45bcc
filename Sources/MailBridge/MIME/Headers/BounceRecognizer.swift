/// Recognises delivery status notifications and other automatic mail coming back in, so the pipeline records
/// them and never answers them (RFC 3834 §2, RFC 5321 §4.5.5: no replies to the null reverse path; RFC 6522,
/// RFC 3464: multipart/report; report-type=delivery-status).
///
/// Works on the raw message text (it runs before, and whatever becomes of, the MIME parse): the header room's
/// lenient ``HeaderBlockSplitter/section(of:maximumFields:)`` reads the header sections and libetpan's
/// Content-Type parser (``ContentType/init(fieldValue:limits:)``) their media types and parameters.
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
        let (header, body) = HeaderBlockSplitter.section(of: bytes)
        let contentType = Self.contentType(header)

        if contentType.mimeType == "multipart/report",
            contentType.parameters["report-type"]?.lowercased() == "delivery-status"
        {
            return .deliveryStatus(originalMessageID: originalMessageID(body: body, contentType: contentType))
        }
        if reversePath == .null || contentType.mimeType == "multipart/report" {
            return .automatic
        }
        if let autoSubmitted = header.first("auto-submitted")?.value,
            autoSubmitted.lowercased().prefix(while: { $0 != ";" && $0 != " " }) != "no"
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
        for line in lines(body) {
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
            let (partHeader, partBody) = HeaderBlockSplitter.section(of: part)
            guard embedded.contains(Self.contentType(partHeader).mimeType) else { continue }
            let (returned, _) = HeaderBlockSplitter.section(of: partBody)
            if let id = returned.first("message-id")?.value, id.hasPrefix("<"), id.hasSuffix(">"),
                id.utf8.count <= 998, !id.contains(where: { $0.isWhitespace })
            {
                return id
            }
        }
        return nil
    }
}

extension BounceRecognizer {
    /// The section's Content-Type, `text/plain` when it has none or libetpan cannot read it (RFC 2045 §5.2).
    static func contentType(_ header: MIMEHeaders) -> ContentType {
        header.first("content-type").flatMap { ContentType(fieldValue: $0.value) }
            ?? ContentType(type: "text", subtype: "plain")
    }

    /// A line of a body without its CRLF (or LF), where it starts, and where the next line starts: for finding the
    /// report's boundary delimiter lines (RFC 2046 §5.1.1).
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
}
