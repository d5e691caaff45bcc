/// Decrypted bytes. The only way to read them is ``bytes`` (or ``withUnsafeBytes(_:)``);
/// `description`, `debugDescription` and reflection (`dump`, string interpolation) show the size only,
/// so plaintext cannot slip into a log line or an error message by accident.
public struct Plaintext: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var count: Int { bytes.count }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    public var description: String { "<plaintext \(bytes.count) bytes>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
