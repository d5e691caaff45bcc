// Security: the only way a notice links to the inbox. The link is configuration (`[notices] inbox-url`) plus
// an opaque random thread ID; it can carry no name, address, subject or text.

public import ThreadStore

/// The public base URL of the web inbox (`[notices] inbox-url`), e.g. `https://inbox.beratung.example`, and the
/// links built from it: a thread's page (`<base>/threads/<opaque-id>`) and the list (`<base>/threads`).
///
/// ```swift
/// let inbox = try InboxLink("https://inbox.beratung.example")
/// let link = try inbox.thread(thread)   // https://inbox.beratung.example/threads/4f0c…
/// ```
public struct InboxLink: Sendable, Hashable, CustomStringConvertible {
    /// The base URL without a trailing slash.
    public let base: String

    /// Accepts an `https://` URL of printable ASCII without query or fragment, at most 400 characters.
    public init(_ text: String) throws(BuilderError) {
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("https://"), base.utf8.count > 8, base.utf8.count <= 400,
            !base.contains("?"), !base.contains("#"), !base.contains("{"), !base.contains("}"),
            (try? PlatformLink(base)) != nil
        else { throw BuilderError(.invalidLink) }
        self.base = base
    }

    /// The inbox page of one thread: only its opaque ID is in the URL.
    public func thread(_ id: ThreadID) throws(BuilderError) -> PlatformLink {
        try PlatformLink("\(base)/threads/\(try OpaqueReference(id.unredactedDescription).value)")
    }

    /// The inbox list (for digests, which name no thread).
    public var list: PlatformLink { try! PlatformLink("\(base)/threads") }  // base was checked as a PlatformLink

    /// Configuration, not personal data.
    public var description: String { base }
}
