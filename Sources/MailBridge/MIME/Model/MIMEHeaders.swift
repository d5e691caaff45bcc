/// The header fields of one entity, in order. `description` is redacted (names and sizes only).
public struct MIMEHeaders: Sendable, Hashable, CustomStringConvertible, RandomAccessCollection {
    public let fields: [MIMEHeaderField]

    public init(_ fields: [MIMEHeaderField]) { self.fields = fields }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> MIMEHeaderField { fields[position] }

    /// All fields with this name (case-insensitive).
    public func all(_ name: String) -> [MIMEHeaderField] {
        let key = name.lowercased()
        return fields.filter { $0.lowercasedName == key }
    }

    /// The first field with this name (case-insensitive).
    public func first(_ name: String) -> MIMEHeaderField? {
        let key = name.lowercased()
        return fields.first { $0.lowercasedName == key }
    }

    public var description: String { "MIMEHeaders(\(fields.count) fields)" }
}
