/// One MIME entity: headers, media type, transfer encoding, and its body — plus the exact input octets
/// (RFC 3156 §4 and §5 need the raw encrypted part and the exact signed part).
///
/// `description` is redacted: media type, sizes and child count only (no header values, no file names).
public struct MIMEPart: Sendable, CustomStringConvertible {
    public let headers: MIMEHeaders
    public let contentType: ContentType
    public let transferEncoding: TransferEncoding
    public let disposition: ContentDisposition?
    public let body: MIMEBody
    /// Nesting depth; the top-level entity is 0.
    public let depth: Int

    /// The whole input message; shared copy-on-write, not duplicated per part.
    let source: [UInt8]
    /// This entity from its first header octet to the end of its body, excluding the CRLF that belongs to the
    /// next boundary (RFC 2046 §5.1.1). For `multipart/signed` this is exactly the signed data (RFC 3156 §5).
    let entityRange: Range<Int>
    /// The encoded body octets.
    let bodyRange: Range<Int>

    init(
        headers: MIMEHeaders, contentType: ContentType, transferEncoding: TransferEncoding,
        disposition: ContentDisposition?, body: MIMEBody, depth: Int, source: [UInt8],
        entityRange: Range<Int>, bodyRange: Range<Int>
    ) {
        self.headers = headers
        self.contentType = contentType
        self.transferEncoding = transferEncoding
        self.disposition = disposition
        self.body = body
        self.depth = depth
        self.source = source
        self.entityRange = entityRange
        self.bodyRange = bodyRange
    }

    /// The exact octets of this entity as received (headers and encoded body). For RFC 3156 §5 signature checks
    /// the signed data must be CRLF-canonical; a message received with bare LF line ends needs converting first.
    public var rawBytes: ArraySlice<UInt8> { source[entityRange] }
    /// The exact encoded body octets as received.
    public var rawBody: ArraySlice<UInt8> { source[bodyRange] }

    /// Children of a multipart; empty otherwise.
    public var children: [MIMEPart] {
        if case .multipart(let parts) = body { return parts }
        return []
    }

    /// The decoded octets of a leaf; nil for containers.
    public var decodedBody: [UInt8]? {
        if case .single(let bytes) = body { return bytes }
        return nil
    }

    /// The file name from Content-Disposition `filename`, else Content-Type `name` (RFC 2183 §2.3,
    /// RFC 2231, and the non-standard but common RFC 2047 encoded word inside a quoted value).
    public var fileName: String? {
        guard let raw = disposition?.parameters["filename"] ?? contentType.parameters["name"] else { return nil }
        return EncodedWordDecoder.decode(raw).text
    }

    /// True for a leaf marked `attachment`, or carrying a file name.
    public var isAttachment: Bool {
        guard case .single = body else { return false }
        if case .attachment = disposition?.kind { return true }
        return fileName != nil
    }

    /// The body as text, converted from its charset (RFC 2046 §4.1.2) to UTF-8.
    /// Throws ``MIMEError/notText`` for non-text parts and ``MIMEError/unsupportedCharset`` for a charset
    /// outside ``Charset`` unless `lossy` is true (then the octets are read as UTF-8 with U+FFFD).
    public func text(lossy: Bool = false) throws(MIMEError) -> String {
        guard contentType.isText, let bytes = decodedBody else { throw MIMEError(.notText) }
        let label = contentType.parameters["charset"] ?? "us-ascii"
        guard let charset = Charset(label: label) else {
            if lossy { return Charset.utf8.decode(bytes) }
            throw MIMEError(.unsupportedCharset)
        }
        return charset.decode(bytes)
    }

    /// This part and all parts below it, depth first, including encapsulated messages.
    public var allParts: [MIMEPart] {
        switch body {
        case .single: [self]
        case .multipart(let children): [self] + children.flatMap(\.allParts)
        case .message(let inner): [self] + inner.allParts
        }
    }

    public var description: String {
        switch body {
        case .single(let bytes): "MIMEPart(\(contentType.mimeType), \(bytes.count) bytes)"
        case .multipart(let children): "MIMEPart(\(contentType.mimeType), \(children.count) parts)"
        case .message: "MIMEPart(\(contentType.mimeType), \(entityRange.count) bytes)"
        }
    }
}
