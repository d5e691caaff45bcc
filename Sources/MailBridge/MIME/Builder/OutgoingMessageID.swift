import Foundation

/// A Message-ID we generate (RFC 5322 §3.6.4): `<random@domain>`, random part from a UUID (no content).
public struct OutgoingMessageID: Sendable, Hashable, CustomStringConvertible {
    /// The field value including angle brackets.
    public let value: String

    /// A fresh ID under `domain` (one of our host names).
    public init(domain: String) throws(BuilderError) {
        let valid =
            !domain.isEmpty && domain.utf8.count <= 253
            && domain.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63
                    && label.unicodeScalars.allSatisfy {
                        $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
                    }
            }
        guard valid else { throw BuilderError(.invalidDomain) }
        value = "<\(UUID().uuidString.lowercased())@\(domain.lowercased())>"
    }

    public var description: String { value }
}
