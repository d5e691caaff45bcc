// Security: carries an untrusted encrypted payload from the outer parse to PGPShim. A PGP/MIME payload is decoded
// into a private unnamed file (PGPShim's CiphertextFile: ciphertext only, mode 0600, in the spool folder, gone
// when closed or after a crash) before gpg runs, so the armored text is not held through decryption (issue 23).

import Foundation
import NIOPosix
import PGPShim

/// What ``Pipeline`` decrypts: inline PGP bodies (small; their armor headers are read again for `Charset:`) and
/// PGP/MIME payloads under ``fileThreshold`` stay in memory, larger PGP/MIME payloads are in a ``CiphertextFile``.
enum EncryptedPayload: Sendable {
    case memory([UInt8])
    case file(CiphertextFile)

    /// PGP/MIME payloads of at least this many octets go to a file; smaller ones stay in memory, where they cost
    /// less than a file (and, as for inline PGP, at most this much).
    static let fileThreshold = 1 << 20

    /// The armored text of an inline PGP body (read for its `Charset:` header); empty for a file.
    var armor: [UInt8] {
        if case .memory(let bytes) = self { return bytes }
        return []
    }

    /// Decrypts and verifies it (``PGPService/decryptAndVerify(_:forKeys:)``); the same verdicts either way.
    func decrypt(_ pgp: PGPService, forKeys keys: Set<KeyFingerprint>) async throws -> DecryptionOutcome {
        switch self {
        case .memory(let bytes): try await pgp.decryptAndVerify(bytes, forKeys: keys)
        case .file(let file): try await pgp.decryptAndVerify(file, forKeys: keys)
        }
    }

    /// Decodes `payload` into a new file beside the spooled message (the spool's own folder, 0700), on the
    /// blocking-I/O pool. A full disk throws (transient): the message stays in the spool and is tried again.
    /// A crash leaves nothing behind (an unnamed file); the named fallback's leftovers go in
    /// ``SpoolIntake/recover()``.
    static func file(decoding payload: [UInt8], beside message: InboundMessage,
                     pgp: PGPService) async throws -> CiphertextFile {
        let folder = message.spoolFile.deletingLastPathComponent()
        let limit = pgp.configuration.maximumInputBytes
        return try await NIOThreadPool.singleton.runIfActive {
            try CiphertextFile(decoding: payload, in: folder, limit: limit)
        }
    }
}
