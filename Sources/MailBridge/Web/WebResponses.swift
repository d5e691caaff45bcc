// Security: the response shapes of the web inbox. Downloads of mail content (attachments, withheld parts) are
// always `application/octet-stream` with `Content-Disposition: attachment`, whatever media type the sender
// declared, so a browser never renders them in our origin; the file name is sanitised (RFC 6266 / RFC 8187).

import Foundation
import Hummingbird
import NIOCore
import PGPShim
import ThreadStore

enum WebResponses {
    /// An HTML page.
    static func html(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: html.rendered)))
    }

    /// 303 See Other (Post/Redirect/Get). `location` is a path we built from validated IDs and fixed codes.
    static func redirect(_ location: String) -> Response { AuthResponses.redirect(to: location) }

    /// What a log line may say about an unexpected error: the description of the error types that are built to
    /// be content-free (``ThreadStoreError``, ``ReplyError``, PGPShim's `PGPError`), else only the type name.
    static func loggable(_ error: any Error) -> String {
        switch error {
        case let error as ThreadStoreError: "\(error)"
        case let error as ReplyError: "\(error)"
        case let error as PGPError: "\(error)"
        default: "\(type(of: error))"
        }
    }

    /// A file download that the browser must not render.
    static func download(_ content: [UInt8], fileName: String) -> Response {
        Response(status: .ok,
                 headers: [.contentType: "application/octet-stream",
                           .contentDisposition: contentDisposition(fileName: fileName)],
                 body: .init(byteBuffer: ByteBuffer(bytes: content)))
    }

    /// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 §4.3, RFC 8187 §3.2).
    static func contentDisposition(fileName: String) -> String {
        let name = MessageDisplay.safeFileName(fileName)
        let fallback = String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || ".-_".unicodeScalars
                .contains(scalar)) ? Character(scalar) : "_"
        })
        // RFC 8187 §3.2.1 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`"
        // / "|" / "~"
        let attrChars = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~".utf8)
        let encoded = name.utf8.map { byte in
            attrChars.contains(byte) ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }.joined()
        return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}
