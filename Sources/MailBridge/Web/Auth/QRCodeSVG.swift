// Security: encodes the account's own TOTP set-up URI (it holds the new secret) for the enrolment page only. The
// image is inline SVG markup built here from the module matrix: no script, no style attribute, no external or
// `data:` resource, so the page's CSP stays as strict as before. Nothing is logged.

import CQREncode

/// A QR code (ISO/IEC 18004) drawn as SVG on the server, for the TOTP enrolment page (issue 22): an authenticator
/// app scans the `otpauth://` URI instead of the counsellor typing the secret. The symbol comes from libqrencode
/// (Debian's `libqrencode-dev`), byte mode, error correction level M, the smallest version that fits.
///
/// ```swift
/// let svg = QRCodeSVG.svg("otpauth://totp/…", title: "QR-Code zum Einrichten")   // "<svg …>…</svg>" or nil
/// ```
enum QRCodeSVG {
    /// Longest text encoded (a set-up URI is about 150 octets; version 40-M holds 2331).
    static let maximumTextBytes = 1024
    /// Light modules around the symbol (ISO/IEC 18004:2015 §9.1: a quiet zone of 4 modules).
    static let quietZone = 4

    /// The dark modules of `text`'s symbol, row by row (`width` × `width`), or nil for empty or too long text or
    /// when libqrencode fails.
    static func modules(_ text: String) -> (width: Int, dark: [Bool])? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumTextBytes else { return nil }
        // "Encode byte stream (may include '\0') in 8-bit mode. [...] If 0, the library chooses the minimum
        // version for the given input data." (qrencode.h, QRcode_encodeData); NULL on error, errno set.
        let code = bytes.withUnsafeBufferPointer { buffer in
            QRcode_encodeData(Int32(buffer.count), buffer.baseAddress, 0, QR_ECLEVEL_M)
        }
        guard let code else { return nil }
        // "QRcode_free: Free the instance of QRcode class." The matrix is copied out before.
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        guard width > 0, let data = code.pointee.data else { return nil }
        // "[...] each byte of data [...] the least significant bit is black (1) / white (0)." (qrencode.h, QRcode)
        let dark = (0..<width * width).map { data[$0] & 1 == 1 }
        return (width, dark)
    }

    /// The symbol as an `<svg>` element (one path of horizontal runs on a white square with the quiet zone),
    /// `scale` CSS pixels per module, labelled with `title` for assistive technology; nil as ``modules(_:)``.
    static func svg(_ text: String, title: String, scale: Int = 5) -> HTML? {
        guard let (width, dark) = modules(text) else { return nil }
        var path = ""
        for y in 0..<width {
            var x = 0
            while x < width {
                guard dark[y * width + x] else { x += 1; continue }
                let start = x
                while x < width && dark[y * width + x] { x += 1 }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        let size = width + 2 * quietZone
        return """
            <svg xmlns="http://www.w3.org/2000/svg" class="qr-code" viewBox="0 0 \(size) \(size)" \
            width="\(size * scale)" height="\(size * scale)" shape-rendering="crispEdges" role="img" \
            aria-labelledby="qr-title"><title id="qr-title">\(title)</title>\
            <rect width="\(size)" height="\(size)" fill="#ffffff"/><path d="\(path)" fill="#000000"/></svg>
            """
    }
}
