// Security: decrypts an untrusted message whose decoded packets are in a private ``CiphertextFile`` (issue 23).
// The same checks as for a message in memory, on the same octets: the shape check walks the file's leading
// packets, and gpg and the in-process unwrap read the ranges it accepted (CheckedCiphertext.swift).

extension GPGContext {
    /// ``decryptAndVerify(_:forKeys:judgingUnfinishedLike:)`` for packets in a file: every verdict, the plaintext
    /// cap and the wiping on failure are the same. gpg reads the file through a read callback, so the ciphertext
    /// is not in memory while it runs.
    public func decryptAndVerify(_ file: CiphertextFile, forKeys keys: Set<KeyFingerprint>? = nil,
                                 judgingUnfinishedLike earlier: [String]? = nil) throws(PGPError) -> DecryptionOutcome {
        let layout: PacketLayout? = file.isReadable
            ? try PacketLayout(count: file.count) { (range: Range<Int>) throws(PGPError) in try file.read(range) }
            : nil
        let input: CheckedCiphertext
        switch try checkedInput(layout, forKeys: keys, keeping: { ranges in
            CheckedCiphertext(file: file, ranges: ranges ?? [0..<file.count])
        }) {
        case .refused(let failure): return .failed(failure)
        case .accepted(let checked): input = checked
        }
        return try decryptAndVerify(checked: input, forKeys: keys, judgingUnfinishedLike: earlier)
    }
}
