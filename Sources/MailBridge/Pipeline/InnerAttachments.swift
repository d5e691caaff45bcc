import ThreadStore

/// The client's own attachments and offered keys in a decrypted entity. A forwarded message
/// (`message/rfc822`, RFC 2046 §5.2.1) is one attachment, its `.eml`; what it contains (its attachments, keys)
/// is not the client's and is shown inside its frame by the inbox instead.
///
/// Naming, one rule: the part's own file name (Content-Disposition `filename`, else Content-Type `name`), else
/// `attachment-N.ext`, N counting the unnamed attachments of the message from 1 and `ext` from the media type
/// (``generatedName(_:number:)``).
struct InnerAttachments {
    private(set) var attachments: [NewAttachment] = []
    private(set) var offeredKeys: [[UInt8]] = []
    private var unnamed = 0

    init(_ root: MIMEPart?) {
        if let root { visit(root) }
    }

    private mutating func visit(_ part: MIMEPart) {
        switch part.body {
        case .multipart(let children):
            for child in children { visit(child) }
        case .message:
            add(part, content: Array(part.rawBody))
        case .single(let content):
            if part.contentType.mimeType == "application/pgp-keys" {
                offeredKeys.append(content)  // as an attachment or as the only body part
            } else if part.isAttachment {
                add(part, content: content)
            }
        }
    }

    private mutating func add(_ part: MIMEPart, content: [UInt8]) {
        let name: String
        if let given = part.fileName, !given.isEmpty {
            name = given
        } else {
            unnamed += 1
            name = Self.generatedName(part.contentType.mimeType, number: unnamed)
        }
        attachments.append(NewAttachment(name: name, mediaType: part.contentType.mimeType, content: content))
    }

    static func generatedName(_ mediaType: String, number: Int) -> String {
        "attachment-\(number).\(extensions[mediaType] ?? "bin")"
    }

    private static let extensions: [String: String] = [
        "application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif",
        "image/heic": "heic", "image/webp": "webp", "text/plain": "txt", "text/html": "html",
        "text/calendar": "ics", "text/vcard": "vcf", "text/x-vcard": "vcf", "message/rfc822": "eml",
        "application/zip": "zip", "application/msword": "doc", "application/vnd.ms-excel": "xls",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
        "application/vnd.oasis.opendocument.text": "odt", "audio/mpeg": "mp3", "audio/ogg": "ogg",
        "audio/mp4": "m4a", "video/mp4": "mp4",
    ]
}
