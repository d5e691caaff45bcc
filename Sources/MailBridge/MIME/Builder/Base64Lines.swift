import Foundation

/// Base64 (RFC 4648 §4) for headers and bodies; body lines at most 76 characters (RFC 2045 §6.8).
enum Base64Lines {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// Body lines of at most `width` characters, without line ends.
    static func lines(_ bytes: [UInt8], width: Int = 76) -> [String] {
        let encoded = Array(encode(bytes).utf8)
        return stride(from: 0, to: encoded.count, by: width).map {
            String(decoding: encoded[$0..<min($0 + width, encoded.count)], as: UTF8.self)
        }
    }
}
