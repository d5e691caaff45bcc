import PGPShim

/// Finds the client's key for a decrypted message: the signer of a good signature, else the one usable key the
/// client offered (attachment or Autocrypt) or the keyring holds for the sender's address.
struct ClientKeyResolver {
    let pgp: PGPService

    /// Imports offered public keys; key blocks that are malformed or hold secret key material are skipped.
    func importOffered(_ blocks: [[UInt8]]) async throws -> [KeyFingerprint] {
        var fingerprints: [KeyFingerprint] = []
        for block in blocks.prefix(8) {
            do {
                fingerprints += try await pgp.importPublicKeys(block).fingerprints
            } catch let error as PGPError where error.code != .engineUnavailable && error.code != .homeDirectory {
                continue
            }
        }
        return fingerprints
    }

    func clientKey(signature: SignatureVerdict, sender: EmailAddress,
                   offered: [KeyFingerprint]) async throws -> KeyFingerprint? {
        switch signature {
        case .good(let signer), .goodButKeyNotCurrent(let signer, _):
            return signer
        default:
            break
        }
        var usableOffered: [KeyFingerprint] = []
        for fingerprint in offered {
            if let info = try await pgp.key(fingerprint), info.isUsableForEncryption,
                info.emails.contains(sender.canonical), !usableOffered.contains(fingerprint)
            {
                usableOffered.append(fingerprint)
            }
        }
        if usableOffered.count == 1 { return usableOffered[0] }
        let known = try await pgp.keys(forEmail: sender.canonical).filter(\.isUsableForEncryption)
        return known.count == 1 ? known[0].fingerprint : nil
    }
}
