import Logging
import PGPShim

/// Makes sure every counselling address has a gateway key with its secret part in the keyring.
enum GatewayKeys {
    /// Returns canonical address → fingerprint, generating a key (Ed25519 + Cv25519) where none exists.
    /// `expiresInSeconds`: a generated key's lifetime (0: none); keys in `known` (the store's former keys of the
    /// address, issue 20) are never chosen.
    static func ensure(for addresses: [EmailAddress], pgp: PGPService, logger: Logger, expiresInSeconds: UInt = 0,
                       excluding known: Set<KeyFingerprint> = []) async throws -> [String: KeyFingerprint]
    {
        var keys: [String: KeyFingerprint] = [:]
        for address in addresses {
            var found: KeyFingerprint?
            for candidate in try await pgp.keys(forEmail: address.canonical)
            where candidate.isUsableForEncryption && !known.contains(candidate.fingerprint) {
                if try await pgp.key(candidate.fingerprint, secret: true) != nil {
                    found = candidate.fingerprint
                    break
                }
            }
            if found == nil {
                found = try await pgp.generateKey(userID: "MailBridge <\(address.unredactedDescription)>",
                                                  expiresInSeconds: expiresInSeconds)
                logger.notice("generated a gateway key for a counselling address")
            }
            keys[address.canonical] = found
        }
        return keys
    }
}
