/// Content-Type / Content-Disposition parameters after RFC 2231 assembly, names lower-cased (RFC 2045 §5.1).
/// Values may hold personal data (file names): `description` shows only the parameter names.
public struct MIMEParameters: Sendable, Hashable, CustomStringConvertible {
    private var values: [String: String]

    init(_ values: [String: String]) { self.values = values }

    /// No parameters.
    public static let empty = MIMEParameters([:])

    /// The value of a parameter, case-insensitive name.
    public subscript(_ name: String) -> String? { values[name.lowercased()] }

    /// All parameter names, sorted.
    public var names: [String] { values.keys.sorted() }

    public var description: String { "MIMEParameters(\(names.joined(separator: ",")))" }
    /// Names and values in clear. Never for logs.
    public var unredactedDescription: String {
        names.map { "\($0)=\(values[$0]!)" }.joined(separator: "; ")
    }
}
