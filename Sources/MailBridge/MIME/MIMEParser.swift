// Security: parses attacker-controlled mail (raw SMTP DATA, IMAP bodies, and decrypted inner messages) with
// libetpan. Every size is bounded by MIMELimits before or while libetpan runs (NestingPrescan bounds its
// recursion); libetpan memory never escapes this file's call: everything is copied into Swift values and the
// tree is freed before `parse` returns. Errors name the failed check only, never header values or content.

import CEtPan

/// Parses a raw message into a ``MIMEMessage`` value tree.
///
/// ```swift
/// let message = try MIMEParser().parse(Array(rawBytes))
/// for part in message.attachments { print(part) }   // redacted: type and size only
/// ```
public struct MIMEParser: Sendable {
    public let limits: MIMELimits

    public init(limits: MIMELimits = .default) { self.limits = limits }

    /// Parses `bytes`. Throws ``MIMEError`` when a limit is exceeded or the structure cannot be parsed.
    public func parse(_ bytes: [UInt8]) throws(MIMEError) -> MIMEMessage {
        var source = bytes
        var message = try parseOnce(source)
        // RFC 2231 `boundary*=`: make it a parameter libetpan splits on, and parse again (bounded).
        for _ in 0..<BoundaryParameterRewrite.maximumRewrites {
            guard let rewritten = BoundaryParameterRewrite.rewritten(message, source: source) else { break }
            source = rewritten
            message = try parseOnce(source)
        }
        return message
    }

    private func parseOnce(_ bytes: [UInt8]) throws(MIMEError) -> MIMEMessage {
        guard bytes.count <= limits.maximumMessageBytes else { throw MIMEError(.messageTooLarge) }
        try NestingPrescan.check(bytes, limits: limits)
        let tree = try EtPanMIMETree(bytes: bytes[...])
        var walker = EtPanWalker(tree: tree, source: bytes, limits: limits)
        let root = try walker.convertRoot()
        return MIMEMessage(root: root)
    }
}
