#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An absolute file-system path from the configuration. Relative paths are refused: the daemon's working
/// directory under systemd is `/`, so a relative path would silently mean something else than the admin thought.
public struct AbsolutePath: Hashable, Sendable, CustomStringConvertible {
    /// The path as written, without a trailing slash (except for `/` itself).
    public let string: String

    /// Why a text is not an absolute path.
    public enum Problem: Error, Sendable { case relative, empty, nulByte, tooLong }

    /// Accepts `/…` paths of at most `PATH_MAX` (4096) octets without NUL.
    public init(_ text: String) throws(Problem) {
        guard !text.isEmpty else { throw .empty }
        guard !text.utf8.contains(0) else { throw .nulByte }
        guard text.utf8.count < 4096 else { throw .tooLong }
        guard text.hasPrefix("/") else { throw .relative }
        var trimmed = Substring(text)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.string = String(trimmed)
    }

    init(unchecked: String) { self.string = unchecked }

    /// This path with `component` appended (`/var/lib/mailbridge` + `gnupg`).
    public func appending(_ component: String) -> AbsolutePath {
        AbsolutePath(unchecked: string == "/" ? "/" + component : string + "/" + component)
    }

    public var description: String { string }
}

/// The platform's login page a redirect reply points to: an `https://` URL without user info or spaces.
public struct RedirectLink: Hashable, Sendable, CustomStringConvertible {
    public let string: String

    public enum Problem: Error, Sendable { case notHTTPS, noHost, userInfo, invalidCharacter, tooLong }

    public init(_ text: String) throws(Problem) {
        guard text.utf8.count <= 2048 else { throw .tooLong }
        // RFC 3986 §2: only unreserved, reserved and percent-encoded characters; no spaces, no controls, and no
        // braces (which would also let a link smuggle a template placeholder into a rendered text).
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")
        guard text.allSatisfy({ allowed.contains($0) }) else { throw .invalidCharacter }
        guard text.lowercased().hasPrefix("https://") else { throw .notHTTPS }
        let afterScheme = text.dropFirst("https://".count)
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains("@") else { throw .userInfo }
        guard !authority.isEmpty, authority.first != ":" else { throw .noHost }
        self.string = text
    }

    public var description: String { string }
}

/// Checks for host names and address literals used by listeners and outbound connections.
enum NetworkName {
    /// `true` for an IPv4 or IPv6 address literal (as `inet_pton` accepts it).
    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// `true` for an address literal or a DNS host name (RFC 1123 §2.1 letters, digits, hyphens, dots).
    static func isHost(_ text: String) -> Bool {
        if isIPAddress(text) { return true }
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        var labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1, labels.last == "" { labels.removeLast() }  // trailing root dot
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.unicodeScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
                }
        }
    }

    /// `true` for `localhost`, `127.0.0.0/8` and `::1`.
    static func isLoopback(_ text: String) -> Bool {
        let lowered = text.lowercased()
        if lowered == "localhost" || lowered == "localhost." || lowered == "::1" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            return bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1
        }
        return false
    }
}
