/// A spool I/O failure. Carries the operation and errno, never a path or message content.
public struct SpoolError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case open, read, write, sync, rename, remove, list
        /// The file handed to ``SpoolIntake/accept(_:)`` is not a temporary file of this spool.
        case foreignFile
        /// An envelope file could not be read back.
        case corruptEnvelope
    }

    public var code: Code
    public var errno: Int32

    public init(_ code: Code, errno: Int32 = 0) {
        self.code = code
        self.errno = errno
    }

    public static func == (lhs: SpoolError, rhs: SpoolError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String { "spool \(code) failed (errno \(errno))" }
}
