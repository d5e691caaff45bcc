// Security: the audit page's "older entries" cursor. The audit log's sequence numbers count every organisation's
// events, so a number in a page or link would tell an organisation how much the others did. The cursor is the
// sequence number sealed (ChaCha20-Poly1305) under a key that lives only in this process: opaque, not forgeable,
// useless after a restart (the page then starts again at the newest entries).

import Crypto
import Foundation

/// An opaque position in the audit log for `/admin/audit?before=…`.
enum AuditCursor {
    private static let key = SymmetricKey(size: .bits256)

    /// The cursor for the entries before `sequence`.
    static func make(before sequence: Int64) -> String {
        var number = sequence.bigEndian
        let plain = withUnsafeBytes(of: &number) { Data($0) }
        guard let sealed = try? ChaChaPoly.seal(plain, using: key).combined else { return "" }
        return sealed.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The sequence number of `cursor`, or nil for anything this process did not make.
    static func sequence(_ cursor: String) -> Int64? {
        guard cursor.utf8.count <= 64 else { return nil }
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.utf8.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let box = try? ChaChaPoly.SealedBox(combined: data),
            let plain = try? ChaChaPoly.open(box, using: key), plain.count == 8
        else { return nil }
        let number = plain.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return number > 0 ? number : nil
    }
}
