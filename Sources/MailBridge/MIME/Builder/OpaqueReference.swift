/// An opaque identifier (thread reference, ticket number) allowed in plain mail: 1–64 characters of
/// `[A-Za-z0-9._-]`. It cannot carry words with spaces, so message text cannot pass through it.
public struct OpaqueReference: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init(_ value: String) throws(BuilderError) {
        guard (1...64).contains(value.utf8.count),
            value.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "._-".unicodeScalars.contains($0)
            })
        else { throw BuilderError(.invalidReference) }
        self.value = value
    }

    public var description: String { value }
}
