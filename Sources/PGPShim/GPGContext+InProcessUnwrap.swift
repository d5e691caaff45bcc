// Security: reads the signature packets of a message gpg has just decrypted and verified, from an in-process
// unwrap (InProcessUnwrap.swift) instead of a second gpg run (issue 23). Its result counts only if every check
// agrees with gpg's run: the MDC verifies, the literal data is octet for octet gpg's plaintext, its format and
// date are gpg's PLAINTEXT line, and there are as many signature packets as gpg reported. A disagreement is a
// failure of the whole decryption; anything this path does not handle goes to the second gpg run.

/// What the in-process unwrap made of a decrypted message.
enum InProcessInspection {
    /// The signature packets, read from the in-process inner message as from `--unwrap` output (nil: they could
    /// not be read, as when ``SignedMessageInspector`` fails on gpg's output).
    case inspected(SignedMessageInspection?)
    /// Something disagrees with gpg's run (MDC, literal data, packets, caps): the decryption fails.
    case failed
    /// Not handled here (no session key, not AES, another layout, or a detail only gpg can settle): gpg runs
    /// again with `--unwrap`.
    case notHandled
}

extension GPGContext {
    /// Unwraps `input` with the session key gpg exported and checks the result against gpg's run: its plaintext
    /// (in `output`), its PLAINTEXT line (`literalHeader`) and how many signatures it reported.
    func inspectInProcess(_ checked: CheckedCiphertext, sessionKey: SessionKey?, plaintext output: GPGData,
                          literalHeader: String?, signatureCount: Int) -> InProcessInspection {
        guard let header = GPGLiteralHeader(literalHeader) else { return .notHandled }
        // The octets gpg read (from memory or the ciphertext file), for small messages only.
        guard let input = try? checked.bytes(atMost: InProcessUnwrap.maximumMessageBytes) else {
            return .notHandled
        }
        var inner: [UInt8]
        switch InProcessUnwrap.unwrap(input, sessionKey: sessionKey) {
        case .notHandled: return .notHandled
        case .failed: return .failed
        case .unwrapped(let bytes): inner = bytes
        }
        defer { InProcessUnwrap.wipe(&inner) }
        let limit = configuration.maximumPlaintextBytes
        let inspection = try? SignedMessageInspector.inspect(inner, limit: limit)
        // Another encrypted message inside: refused by the caller, whatever the literal data.
        if let inspection, inspection.containsEncryptedMessage { return .inspected(inspection) }
        // The packet overhead around the literal data (headers, signatures) may add to the plaintext cap.
        let budget = limit.addingReportingOverflow(1 << 20).partialValue
        let literal = output.withSinkBytes { gpgOutput in
            try? LiteralDataReader.check(inner, against: gpgOutput, limit: budget)
        }
        guard let literal else { return .failed }
        guard literal.matchesGPGOutput, literal.format == header.format, literal.date == header.date else {
            return .failed
        }
        // gpg reports every signature it checked; fewer or more packets here (v3 signatures, which the inspector
        // skips, or packets gpg did not read) is settled by gpg's own unwrap.
        if let inspection, inspection.signatures.count != signatureCount { return .notHandled }
        return .inspected(inspection)
    }
}

/// Format and date of gpg's `PLAINTEXT <format, 2 hex digits> <timestamp> [<file name>]` status line.
struct GPGLiteralHeader: Equatable {
    var format: UInt8
    var date: UInt32

    init(format: UInt8, date: UInt32) {
        self.format = format
        self.date = date
    }

    init?(_ line: String?) {
        guard let fields = line?.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false),
            fields.count >= 2, fields[0].utf8.count == 2, let format = UInt8(fields[0], radix: 16),
            let date = UInt32(fields[1])
        else { return nil }
        self.format = format
        self.date = date
    }
}
