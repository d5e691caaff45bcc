// Security: comparisons of secrets (CSRF tokens, TOTP codes) must not leak how many leading bytes matched.

/// Comparisons whose running time does not depend on where two secrets differ.
enum ConstantTime {
    /// Whether `a` and `b` hold the same UTF-8 bytes. Runs over every byte of the longer input; only the
    /// lengths (not secret: tokens have a fixed length) influence the time.
    static func equals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            let left = index < x.count ? x[index] : 0
            let right = index < y.count ? y[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
