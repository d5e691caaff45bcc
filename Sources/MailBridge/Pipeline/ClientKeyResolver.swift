import PGPShim
import ThreadStore

/// Finds the client's key for a decrypted message: the signer of a good signature; else the key registered for
/// the address in the store; else the one usable key the sender offered in this message (attachment or
/// Autocrypt) for its own address. Never the global keyring by address: a key someone else planted there, claiming the
/// client's address, must not become the client's key.
struct ClientKeyResolver {
    let pgp: PGPService
    let threads: any InboundStore

    /// Imports offered public keys, so their signatures can be checked and attributed; blocks that are malformed
    /// or hold secret key material are skipped. Importing gives a key no standing: only a key the sender offered
    /// for its own address in this message, or the key registered in the store, becomes a client's key.
    func importOffered(_ blocks: [[UInt8]]) async throws -> [KeyFingerprint] {
        var fingerprints: [KeyFingerprint] = []
        for block in blocks.prefix(8) {
            do {
                fingerprints += try await pgp.importPublicKeys(block).fingerprints
            } catch let error as PGPError
                where error.code != .engineUnavailable && error.code != .homeDirectory && !error.isTransient
            {
                continue
            }
        }
        return fingerprints
    }

    func clientKey(signature: SignatureVerdict, sender: EmailAddress, field: CounsellingField,
                   offered: [KeyFingerprint]) async throws -> KeyFingerprint? {
        switch signature {
        case .good(let signer), .goodButKeyNotCurrent(let signer, _):
            return signer
        case .unknownKey:
            // Signed, but by a key we do not have even after importing what the message offered: whoever signed
            // is not the key we would answer. Binding the words to the sender's (or the address's) key could put
            // a victim's signed text into an attacker's thread, so there is no client key: the pipeline keeps such
            // mail in a thread without key of its own (AwaitingKeyImport.swift, issue 17).
            return nil
        default:
            break
        }
        // The key registered for the address wins: unsigned mail cannot change it (a key offered in unsigned
        // mail for a registered address could be anyone's).
        let address = try ClientAddress(sender)
        if let registered = try await threads.registeredClientKey(field: field, address: address) {
            return registered
        }
        var usableOffered: [KeyFingerprint] = []
        for fingerprint in offered {
            // Just imported: a key gone missing is the engine failing, not the key (issue 28).
            let info = try await pgp.existingKey(fingerprint)
            if info.isUsableForEncryption,
                info.addresses.contains(where: { $0.canonical == sender.canonical }),
                !usableOffered.contains(fingerprint)
            {
                usableOffered.append(fingerprint)
            }
        }
        return usableOffered.count == 1 ? usableOffered[0] : nil
    }
}

extension KeyInfo {
    /// The key's user-ID e-mail addresses that parse as addresses, in user-ID order; compare them by
    /// ``EmailAddress/canonical``.
    var addresses: [EmailAddress] { emails.compactMap { try? EmailAddress($0) } }
}
