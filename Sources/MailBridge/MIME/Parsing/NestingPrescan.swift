/// Bounds libetpan's recursion before it runs.
///
/// `mailmime_parse` recurses once per multipart / message level and has no depth limit of its own (a
/// 2000-level message crashed it on a 256 KiB stack in our measurement; 800 levels did not). Every level
/// below the top needs a `Content-Type` field, except `message/rfc822` parts of a `multipart/digest`, which
/// still need a multipart parent. So the depth is at most `2 * n + 2` where `n` counts lines that start
/// with `Content-Type:` (case-insensitive, obsolete WSP before the colon allowed, CR or LF as line start).
/// This overcounts (body text can match), which only makes the bound safer.
enum NestingPrescan {
    static func check(_ bytes: [UInt8], limits: MIMELimits) throws(MIMEError) {
        let bound = min(limits.maximumParts, MIMELimits.hardCeilingParts)
        let name = Array("content-type".utf8)
        var count = 0
        var atLineStart = true
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if atLineStart, byte | 0x20 == name[0], matches(bytes, at: i, name) {
                var j = i + name.count
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: ":") {
                    count += 1
                    if count > bound { throw MIMEError(.tooManyParts) }
                }
            }
            atLineStart = byte == 0x0A || byte == 0x0D
            i += 1
        }
    }

    private static func matches(_ bytes: [UInt8], at index: Int, _ lowercased: [UInt8]) -> Bool {
        guard index + lowercased.count <= bytes.count else { return false }
        for k in 0..<lowercased.count {
            var b = bytes[index + k]
            if b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") { b |= 0x20 }
            if b != lowercased[k] { return false }
        }
        return true
    }
}
