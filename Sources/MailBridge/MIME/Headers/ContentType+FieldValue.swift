import CEtPan

extension ContentType {
    /// A `Content-Type` field value (RFC 2045 §5.1, with RFC 2231 parameters) parsed by libetpan into the MIME
    /// model, type and subtype lower-cased; nil if libetpan cannot read it. For header scanners that work on raw
    /// mail outside the MIME parser (the bounce recogniser).
    init?(fieldValue: String, limits: MIMELimits = .default) {
        var bytes = Array(fieldValue.utf8)
        guard bytes.count <= limits.maximumHeaderBlockBytes else { return nil }
        bytes.append(0)
        var index = 0
        var parsed: UnsafeMutablePointer<mailmime_content>?
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                mailmime_content_parse(chars.baseAddress, bytes.count - 1, &index, &parsed)
            }
        }
        guard status == Int32(MAILIMF_NO_ERROR), let parsed else { return nil }
        defer { mailmime_content_free(parsed) }
        self = EtPanFields.contentType(parsed.pointee, limits: limits)
    }
}
